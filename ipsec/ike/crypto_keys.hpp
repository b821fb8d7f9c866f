// IKEv2 key schedule: SKEYSEED and SK_* (RFC 7296 section 2.14), Child SA KEYMAT (2.17) and
// the rekeyed IKE SA's SKEYSEED (2.18). All key material is SecretBytes (wiped on free).
#pragma once

#include <cstdint>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/secure.hpp"
#include "ipsec/ike/proposal.hpp"

namespace braid::ike {

// The seven IKE SA keys. For AEAD suites SK_ai/SK_ar are empty and SK_ei/SK_er carry
// key || 4-byte salt (RFC 5282 section 7.1 for GCM, RFC 7634 section 2 for ChaCha20).
struct IkeSaKeys {
  SecretBytes skD;
  SecretBytes skAi, skAr;
  SecretBytes skEi, skEr;
  SecretBytes skPi, skPr;
};

// SKEYSEED = prf(Ni | Nr, g^ir)                                  RFC 7296 2.14
Result<SecretBytes> computeSkeyseed(PrfId prf, Bytes ni, Bytes nr, Bytes sharedSecret);

// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)                         RFC 7296 2.14
// Lengths come from the suite (prf, integ, encr + key length). SPIs are the 8-byte IKE SPIs as
// they appear in the header (the uint64_t is written big-endian).
Result<IkeSaKeys> deriveIkeSaKeys(const Suite& suite, Bytes skeyseed, Bytes ni, Bytes nr,
                                  uint64_t spiI, uint64_t spiR);

// Convenience for IKE_SA_INIT: computeSkeyseed() then deriveIkeSaKeys().
Result<IkeSaKeys> deriveInitialIkeSaKeys(const Suite& suite, Bytes sharedSecret, Bytes ni, Bytes nr,
                                         uint64_t spiI, uint64_t spiR);

// Rekeyed IKE SA (CREATE_CHILD_SA, RFC 7296 2.18), with the OLD SA's PRF and SK_d:
//   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
// then deriveIkeSaKeys() with the NEW suite, new nonces and new SPIs.
Result<SecretBytes> computeRekeySkeyseed(PrfId oldPrf, Bytes oldSkD, Bytes newSharedSecret,
                                         Bytes ni, Bytes nr);

// Child SA key material (RFC 7296 2.17):
//   KEYMAT = prf+(SK_d, Ni | Nr)              without PFS (sharedSecret empty)
//   KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr) with PFS
Result<SecretBytes> computeChildKeymat(PrfId prf, Bytes skD, Bytes sharedSecret, Bytes ni, Bytes nr,
                                       size_t length);

// The four Child SA keys, split from KEYMAT in RFC 7296 2.17 order: initiator-to-responder
// encryption then integrity, then responder-to-initiator. For AEAD the encryption key is
// key || salt (ESP EspSaConfig::keymat) and the integrity keys are empty.
struct ChildSaKeys {
  SecretBytes encrI, integI;  // initiator -> responder
  SecretBytes encrR, integR;  // responder -> initiator
};
// Nonces are those of the CREATE_CHILD_SA exchange (or IKE_SA_INIT for the first Child SA).
Result<ChildSaKeys> deriveChildSaKeys(PrfId prf, Bytes skD, const Suite& childSuite,
                                      Bytes sharedSecret, Bytes ni, Bytes nr);

}  // namespace braid::ike
