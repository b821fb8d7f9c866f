#include "ipsec/ike/ike_auth_eap.hpp"

#include "ipsec/ike/auth_psk.hpp"
#include "ipsec/ike/identity.hpp"
#include "ipsec/ike/ike_sa.hpp"

namespace braid::ike {

Message keepForFinalExchange(const Message& request) {
  Message out(request.header.exchange, false, request.header.messageId);
  out.header = request.header;
  for (const auto& p : request.payloads) {
    switch (p.type) {
      case PayloadType::kSa:
      case PayloadType::kTsi:
      case PayloadType::kTsr:
      case PayloadType::kCp:
      case PayloadType::kNotify:
        out.payloads.push_back(p);
        break;
      default:
        break;
    }
  }
  return out;
}

namespace {

Result<ByteVec> octetsFor(IkeSa& sa, bool ours, Bytes idBody) {
  // Our octets: our IKE_SA_INIT message, the peer's nonce, prf(SK_p(our side), ID).
  bool initSide = sa.initiator() == ours;
  return authSignedOctets(sa.suite.prf, initSide ? sa.initRequest : sa.initResponse,
                          initSide ? sa.nonceR : sa.nonceI,
                          (initSide ? sa.keys.skPi : sa.keys.skPr).bytes(), idBody);
}

}  // namespace

Result<AuthPayload> mskAuth(IkeSa& sa, Bytes msk, Bytes ourIdBody) {
  auto octets = octetsFor(sa, true, ourIdBody);
  if (!octets) return octets.status();
  auto mic = pskAuthData(sa.suite.prf, msk, *octets);
  if (!mic) return mic.status();
  AuthPayload a;
  a.method = AuthMethod::kSharedKeyMic;
  a.data.assign(mic->bytes().begin(), mic->bytes().end());
  return a;
}

Status verifyMskAuth(IkeSa& sa, Bytes msk, Bytes peerIdBody, const AuthPayload& auth) {
  if (auth.method != AuthMethod::kSharedKeyMic) {
    return errorStatus(ErrorCode::kPermissionDenied,
                       "AUTH method " + std::to_string(static_cast<int>(auth.method)) +
                           " after EAP, expected the shared key MIC over the MSK");
  }
  auto octets = octetsFor(sa, false, peerIdBody);
  if (!octets) return octets.status();
  if (!verifyPskAuthData(sa.suite.prf, msk, *octets, auth.data)) {
    return errorStatus(ErrorCode::kPermissionDenied, "AUTH over the EAP MSK does not verify");
  }
  return Status::ok();
}

Identity eapPeerIdentity(const std::string& name) {
  return name.find('@') != std::string::npos ? Identity::rfc822(name) : Identity::fqdn(name);
}

}  // namespace braid::ike
