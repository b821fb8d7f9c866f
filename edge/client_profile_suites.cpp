// The IKE and ESP suites that Apple's and Windows' native IKEv2 clients can name, and their
// names in a .mobileconfig and in Set-VpnConnectionIPsecConfiguration (client_profile.hpp).
#include "edge/client_profile.hpp"

namespace braid::edge {

using ike::DhGroup;
using ike::EncrId;
using ike::IntegId;
using ike::PrfId;
using ike::Suite;

namespace {
// Apple: EncryptionAlgorithm / IntegrityAlgorithm / DiffieHellmanGroup of the IKEv2
// dictionary (Apple's "VPN.IKEv2.IKESecurityAssociationParameters"). The integrity
// algorithm also names the PRF, so a PRF must use the same hash.
std::string appleEncr(const Suite& s) {
  switch (s.encr) {
    case EncrId::kAesCbc:
      return s.encrKeyBits == 128 ? "AES-128" : s.encrKeyBits == 256 ? "AES-256" : "";
    case EncrId::kAesGcm16:
      return s.encrKeyBits == 128 ? "AES-128-GCM" : s.encrKeyBits == 256 ? "AES-256-GCM" : "";
    case EncrId::kChaCha20Poly1305:
      return "ChaCha20Poly1305";
    default:
      return "";
  }
}
std::string appleHash(PrfId p) {
  switch (p) {
    case PrfId::kHmacSha256:
      return "SHA2-256";
    case PrfId::kHmacSha384:
      return "SHA2-384";
    case PrfId::kHmacSha512:
      return "SHA2-512";
    default:
      return "";
  }
}
PrfId prfOfInteg(IntegId i) {
  switch (i) {
    case IntegId::kHmacSha256_128:
      return PrfId::kHmacSha256;
    case IntegId::kHmacSha384_192:
      return PrfId::kHmacSha384;
    case IntegId::kHmacSha512_256:
      return PrfId::kHmacSha512;
    default:
      return PrfId::kNone;
  }
}
int appleDh(DhGroup g) {
  switch (g) {
    case DhGroup::kModp2048:
    case DhGroup::kModp3072:
    case DhGroup::kModp4096:
    case DhGroup::kEcp256:
    case DhGroup::kEcp384:
    case DhGroup::kEcp521:
    case DhGroup::kCurve25519:
      return static_cast<int>(g);
    default:
      return 0;
  }
}
std::string windowsEncr(const Suite& s) {
  const bool k128 = s.encrKeyBits == 128, k256 = s.encrKeyBits == 256;
  if (s.encr == EncrId::kAesCbc) return k128 ? "AES128" : k256 ? "AES256" : "";
  if (s.encr == EncrId::kAesGcm16) return k128 ? "GCMAES128" : k256 ? "GCMAES256" : "";
  return "";
}
std::string windowsHash(PrfId p) {
  return p == PrfId::kHmacSha256 ? "SHA256" : p == PrfId::kHmacSha384 ? "SHA384" : "";
}
std::string windowsDh(DhGroup g) {
  switch (g) {
    case DhGroup::kModp2048:
      return "Group14";
    case DhGroup::kEcp256:
      return "ECP256";
    case DhGroup::kEcp384:
      return "ECP384";
    default:
      return "";
  }
}
std::string windowsPfs(DhGroup g) {
  switch (g) {
    case DhGroup::kNone:
      return "None";
    case DhGroup::kModp2048:
      return "PFS2048";
    case DhGroup::kEcp256:
      return "ECP256";
    case DhGroup::kEcp384:
      return "ECP384";
    default:
      return "";
  }
}
}  // namespace

bool appleIkeOk(const Suite& s) {
  if (appleEncr(s).empty() || appleHash(s.prf).empty() || appleDh(s.dh) == 0) return false;
  return s.isAead() || prfOfInteg(s.integ) == s.prf;
}
bool appleEspOk(const Suite& s) {
  return s.isAead() && !appleEncr(s).empty() && !s.esn &&
         (s.dh == DhGroup::kNone || appleDh(s.dh) != 0);
}
bool windowsIkeOk(const Suite& s) {
  if (windowsEncr(s).empty() || windowsHash(s.prf).empty() || windowsDh(s.dh).empty()) return false;
  return s.isAead() || prfOfInteg(s.integ) == s.prf;
}
bool windowsEspOk(const Suite& s) {
  return s.encr == EncrId::kAesGcm16 && !windowsEncr(s).empty() && !s.esn &&
         !windowsPfs(s.dh).empty();
}

AppleSuite appleSuite(const Suite& s) {
  AppleSuite a;
  a.encryption = appleEncr(s);
  a.integrity = s.protocol == ike::ProtocolId::kIke ? appleHash(s.prf) : "SHA2-256";
  a.dhGroup = appleDh(s.dh);
  return a;
}

WindowsSuite windowsSuite(const Suite& ike, const Suite& esp) {
  WindowsSuite w;
  w.encryptionMethod = windowsEncr(ike);
  w.integrityCheckMethod = windowsHash(ike.prf);
  w.dhGroup = windowsDh(ike.dh);
  w.cipherTransform = windowsEncr(esp);
  w.authenticationTransform = windowsEncr(esp);  // AES-GCM: its own integrity
  w.pfsGroup = windowsPfs(esp.dh);
  return w;
}

}  // namespace braid::edge
