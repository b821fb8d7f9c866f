// EAP in IKE_AUTH (RFC 7296 2.16): what a responder keeps between the IKE_AUTH exchanges of
// one client (the TaskManager makes a new responder task per request), and the AUTH payloads
// computed with the EAP method's MSK as the shared key.
#pragma once

#include <memory>

#include "core/result.hpp"
#include "ipsec/ike/eap_auth.hpp"
#include "ipsec/ike/identity.hpp"
#include "ipsec/ike/message.hpp"

namespace braid::ike {

class IkeSa;

// IkeSa::eapResponder: set by the first IKE_AUTH request without AUTH.
struct EapResponderState {
  std::unique_ptr<EapAuthenticator> authenticator;
  // SA, TSi, TSr, CP and notifies of the first request: the Child SA, the virtual IP and
  // INITIAL_CONTACT are settled with the last exchange, once AUTH verified.
  Message first;
  ByteVec idiBody;            // IDi as sent: the client's final AUTH covers it
  bool awaitingAuth = false;  // EAP-Success sent; the next request carries AUTH
};

// The request's payloads the last exchange needs (everything but IDi, CERT*, IDr, AUTH).
Message keepForFinalExchange(const Message& request);

// AUTH = prf(prf(MSK, "Key Pad for IKEv2"), <signed octets>) (RFC 7296 2.15, 2.16): ours
// over our IKE_SA_INIT message and our ID, or the peer's.
Result<AuthPayload> mskAuth(IkeSa& sa, Bytes msk, Bytes ourIdBody);
Status verifyMskAuth(IkeSa& sa, Bytes msk, Bytes peerIdBody, const AuthPayload& auth);

// The identity a client's EAP name stands for after EAP (leases, logs, uniqueness):
// user@realm as RFC822, anything else as FQDN.
Identity eapPeerIdentity(const std::string& name);

}  // namespace braid::ike
