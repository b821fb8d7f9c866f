#include "ipsec/ike/eap_auth.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "ipsec/ike/events.hpp"

namespace braid::ike {

using mschapv2::ChallengeData;
using mschapv2::Message;
using mschapv2::OpCode;
using mschapv2::ResponseData;

bool EapUserTable::add(EapUser user) {
  std::string name = user.name;
  return users_.emplace(std::move(name), std::move(user)).second;
}

const EapUser* EapUserTable::find(std::string_view name) const {
  auto it = users_.find(name);
  if (it == users_.end()) it = users_.find(mschapv2::challengeUserName(name));
  return it == users_.end() ? nullptr : &it->second;
}

namespace {

// An identity for logs: printable ASCII only, bounded.
std::string printable(Bytes b) {
  std::string s;
  for (uint8_t c : b.first(std::min<size_t>(b.size(), 128)))
    s += (c >= 0x20 && c < 0x7F) ? char(c) : '?';
  return s;
}

ByteVec simple(EapCode code, uint8_t id) {
  EapPacket p;
  p.code = code;
  p.identifier = id;
  return p.encode();
}

}  // namespace

std::string eapMethodName(uint8_t type) {
  switch (type) {
    case eap_type::kMschapv2:
      return "EAP-MSCHAPv2";
    case eap_type::kTls:
      return "EAP-TLS";
    default:
      return "EAP type " + std::to_string(type);
  }
}

EapAuthenticator::EapAuthenticator(std::shared_ptr<const EapUserTable> users,
                                   std::string serverName, Random& random,
                                   std::vector<uint8_t> methods,
                                   std::shared_ptr<const EapTlsConfig> tls)
    : users_(std::move(users)),
      serverName_(std::move(serverName)),
      random_(random),
      methods_(std::move(methods)),
      tlsConfig_(std::move(tls)) {
  if (methods_.empty()) methods_ = {eap_type::kMschapv2};
  method_ = methods_.front();
  uint8_t b[2];
  random_.fill(b);
  id_ = b[0];  // RFC 3748 4: identifiers start anywhere
  msId_ = b[1];
}

ByteVec EapAuthenticator::start() {
  EapPacket p;
  p.code = EapCode::kRequest;
  p.identifier = id_;
  p.type = eap_type::kIdentity;
  return p.encode();
}

EapStep EapAuthenticator::fail(std::string reason) {
  state_ = State::kDone;
  return {EapOutcome::kFailure, simple(EapCode::kFailure, id_), std::move(reason)};
}

EapStep EapAuthenticator::process(Bytes bytes) {
  auto p = EapPacket::decode(bytes);
  if (!p || p->code != EapCode::kResponse) return fail("malformed EAP response");
  // RFC 3748 4.1: a response answers the request with the same identifier. IKE delivers
  // in order, so another one is an error here rather than a stray to drop.
  if (p->identifier != id_) return fail("EAP response identifier does not match the request");
  if (p->type == eap_type::kNak) {
    // RFC 3748 5.3.1: a Nak answers the method's first request only; it may name another
    // method we offer, once.
    const bool firstRequest =
        state_ == State::kChallenge ||
        (state_ == State::kTls && tls_ && !tls_->handshakeDone() && firstTlsRound_);
    if (firstRequest && !switched_) {
      for (uint8_t t : p->data) {
        if (t == method_ || std::find(methods_.begin(), methods_.end(), t) == methods_.end())
          continue;
        switched_ = true;
        return startMethod(t);
      }
    }
    std::string wants;
    for (uint8_t t : p->data) wants += (wants.empty() ? "" : ",") + std::to_string(t);
    return fail("client refuses " + eapMethodName(method_) + " (Nak, proposes type " +
                (wants.empty() ? std::string("none") : wants) + ")");
  }
  switch (state_) {
    case State::kIdentity: {
      if (p->type != eap_type::kIdentity) return fail("expected EAP-Response/Identity");
      if (p->data.empty() || p->data.size() > 255) return fail("bad EAP identity length");
      identity_ = printable(p->data);
      return startMethod(method_);
    }
    case State::kTls:
      return continueTls(*p);
    case State::kChallenge: {
      if (p->type != eap_type::kMschapv2) return fail("expected EAP-Response/MSCHAPv2");
      auto m = Message::decode(p->data);
      if (!m || m->op != OpCode::kResponse || m->msId != msId_)
        return fail("malformed MSCHAPv2 response");
      auto r = ResponseData::decode(m->data);
      if (!r) return fail("malformed MSCHAPv2 response");
      if (!user_) return fail("unknown EAP identity '" + identity_ + "'");
      auto expected =
          mschapv2::generateNtResponse(challenge_, r->peerChallenge, r->name, user_->ntHash);
      if (!expected) return fail("cannot compute the NT response: " + expected.status().message());
      if (CRYPTO_memcmp(expected->data(), r->ntResponse.data(), expected->size()) != 0)
        return fail("wrong password for '" + identity_ +
                    "' (MSCHAPv2 NT response does not verify)");
      auto authResp = mschapv2::authenticatorResponse(user_->ntHash, r->ntResponse,
                                                      r->peerChallenge, challenge_, r->name);
      auto key = mschapv2::msk(user_->ntHash, r->ntResponse);
      if (!authResp || !key) return fail("cannot compute the MSCHAPv2 keys");
      msk_ = std::move(key.value());
      group_ = user_->group;
      std::string text = *authResp + " M=welcome";
      Message s{OpCode::kSuccess, msId_, ByteVec(text.begin(), text.end())};
      state_ = State::kSuccessSent;
      return {
          EapOutcome::kContinue, mschapv2::makePacket(EapCode::kRequest, ++id_, s).encode(), {}};
    }
    case State::kSuccessSent: {
      auto m = p->type == eap_type::kMschapv2 ? Message::decode(p->data) : std::nullopt;
      if (!m || m->op != OpCode::kSuccess)
        return fail("expected the MSCHAPv2 success acknowledgement");
      state_ = State::kDone;
      return {EapOutcome::kSuccess, simple(EapCode::kSuccess, id_), {}};
    }
    case State::kDone:
      break;
  }
  return fail("EAP response after the method ended");
}

EapStep EapAuthenticator::startMethod(uint8_t type) {
  method_ = type;
  if (type == eap_type::kTls) {
    if (!tlsConfig_) return fail("EAP-TLS offered without a TLS configuration");
    auto session = EapTlsSession::create(EapTlsSession::Role::kServer, *tlsConfig_);
    if (!session) return fail("cannot start EAP-TLS: " + session.status().message());
    tls_ = std::move(session.value());
    state_ = State::kTls;
    firstTlsRound_ = true;
    EapPacket r;
    r.code = EapCode::kRequest;
    r.identifier = ++id_;
    r.type = eap_type::kTls;
    r.data = tls_->start();
    return {EapOutcome::kContinue, r.encode(), {}};
  }
  if (const EapUser* u = users_ ? users_->find(identity_) : nullptr) user_ = *u;
  random_.fill(challenge_);
  ChallengeData c{challenge_, serverName_};
  Message m{OpCode::kChallenge, msId_, c.encode()};
  state_ = State::kChallenge;
  return {EapOutcome::kContinue, mschapv2::makePacket(EapCode::kRequest, ++id_, m).encode(), {}};
}

// RFC 5216 2.1: the TLS handshake in EAP-TLS packets, then EAP-Success once the client
// acknowledged our last flight; the certificate must name the EAP identity.
EapStep EapAuthenticator::continueTls(const EapPacket& p) {
  if (p.type != eap_type::kTls) return fail("expected EAP-Response/TLS");
  firstTlsRound_ = false;
  EapTlsSession::Step step = tls_->process(p.data);
  if (step.outcome == EapTlsSession::Outcome::kFailure) {
    EapStep out = fail("EAP-TLS: " + step.reason);
    out.oversize = tls_->failureCause() == EapTlsSession::FailureCause::kOversize;
    tls_.reset();  // the SSL objects are not kept for the SA's lifetime
    return out;
  }
  if (step.outcome == EapTlsSession::Outcome::kContinue) {
    EapPacket r;
    r.code = EapCode::kRequest;
    r.identifier = ++id_;
    r.type = eap_type::kTls;
    r.data = std::move(step.typeData);
    return {EapOutcome::kContinue, r.encode(), {}};
  }
  const Certificate& cert = tls_->peerCertificate();
  if (!certificateMatchesEapIdentity(cert, identity_)) {
    return fail("EAP-TLS: certificate '" + cert.subjectText() + "' does not name EAP identity '" +
                identity_ + "'");
  }
  msk_ = tls_->msk();
  group_ = certificateOu(cert);
  tlsDetails_ = "certificate '" + cert.subjectText() + "', " + tls_->version();
  tls_.reset();
  state_ = State::kDone;
  return {EapOutcome::kSuccess, simple(EapCode::kSuccess, id_), {}};
}

EapPeer::EapPeer(std::string identity, NtHash hash, Random& random, std::vector<uint8_t> methods,
                 std::shared_ptr<const EapTlsConfig> tls)
    : identity_(std::move(identity)),
      hash_(hash),
      random_(random),
      methods_(std::move(methods)),
      tlsConfig_(std::move(tls)) {}

EapStep EapPeer::fail(std::string reason) {
  return {EapOutcome::kFailure, {}, std::move(reason)};
}

EapStep EapPeer::process(Bytes bytes) {
  auto p = EapPacket::decode(bytes);
  if (!p) return fail("malformed EAP packet from the gateway");
  if (p->code == EapCode::kFailure) return fail("gateway sent EAP-Failure");
  if (p->code == EapCode::kSuccess) {
    if (tls_) {
      if (!tls_->handshakeDone()) return fail("EAP-Success before the TLS handshake finished");
      msk_ = tls_->msk();
      return {EapOutcome::kSuccess, {}, {}};
    }
    if (!serverVerified_) return fail("EAP-Success before the gateway proved the password");
    return {EapOutcome::kSuccess, {}, {}};
  }
  if (p->code != EapCode::kRequest) return fail("unexpected " + p->summary());
  EapPacket resp;
  resp.code = EapCode::kResponse;
  resp.identifier = p->identifier;
  if (p->type == eap_type::kIdentity) {
    resp.type = eap_type::kIdentity;
    resp.data.assign(identity_.begin(), identity_.end());
    return {EapOutcome::kContinue, resp.encode(), {}};
  }
  if (std::find(methods_.begin(), methods_.end(), p->type) == methods_.end()) {
    resp.type = eap_type::kNak;  // RFC 3748 5.3.1: the types we would take instead
    resp.data = methods_;
    return {EapOutcome::kContinue, resp.encode(), {}};
  }
  if (p->type == eap_type::kTls) {
    if (!tlsConfig_) return fail("EAP-TLS without a certificate");
    if (!tls_) {
      auto session = EapTlsSession::create(EapTlsSession::Role::kClient, *tlsConfig_);
      if (!session) return fail("cannot start EAP-TLS: " + session.status().message());
      tls_ = std::move(session.value());
    }
    EapTlsSession::Step step = tls_->process(p->data);
    if (step.outcome == EapTlsSession::Outcome::kFailure) return fail("EAP-TLS: " + step.reason);
    resp.type = eap_type::kTls;
    resp.data = std::move(step.typeData);
    return {EapOutcome::kContinue, resp.encode(), {}};
  }
  if (p->type != eap_type::kMschapv2) return fail("unsupported " + p->summary());
  auto m = Message::decode(p->data);
  if (!m) return fail("malformed MSCHAPv2 request");
  resp.type = eap_type::kMschapv2;
  if (m->op == OpCode::kChallenge) {
    auto c = ChallengeData::decode(m->data);
    if (!c) return fail("malformed MSCHAPv2 challenge");
    ResponseData r;
    random_.fill(r.peerChallenge);
    r.name = identity_;
    auto nt = mschapv2::generateNtResponse(c->challenge, r.peerChallenge, r.name, hash_);
    auto ar = mschapv2::authenticatorResponse(hash_, nt ? *nt : mschapv2::NtResponse{},
                                              r.peerChallenge, c->challenge, r.name);
    auto key = mschapv2::msk(hash_, nt ? *nt : mschapv2::NtResponse{});
    if (!nt || !ar || !key) return fail("cannot compute the MSCHAPv2 response");
    r.ntResponse = *nt;
    expectedAuthResponse_ = *ar;
    msk_ = std::move(key.value());
    resp.data = Message{OpCode::kResponse, m->msId, r.encode()}.encode();
    return {EapOutcome::kContinue, resp.encode(), {}};
  }
  if (m->op == OpCode::kSuccess) {
    // RFC 2759 5: "S=<40 hex digits>" first; the gateway knows the password too.
    std::string text(m->data.begin(), m->data.end());
    if (expectedAuthResponse_.empty() || text.compare(0, 42, expectedAuthResponse_) != 0)
      return fail("gateway's MSCHAPv2 authenticator response does not verify");
    serverVerified_ = true;
    resp.data = Message{OpCode::kSuccess, 0, {}}.encode();
    return {EapOutcome::kContinue, resp.encode(), {}};
  }
  if (m->op == OpCode::kFailure) return fail("MSCHAPv2 failure from the gateway");
  return fail("unexpected MSCHAPv2 op");
}

}  // namespace braid::ike
