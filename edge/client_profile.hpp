// braidctl profile USER: ready-to-import client profiles for a [[remote_access]] section
// (docs/remote-access.md), generated from the gateway's loaded config: one connection per
// uplink the section serves, the gateway's identity, the CA that signed the gateway's
// certificate, the user's authentication (EAP-MSCHAPv2 or a certificate) and the IKE/ESP
// proposals. Native clients (Apple, Windows) take one algorithm per type: that suite is
// picked from the gateway's own proposals and checked with the gateway's selection code
// (ike::selectProposal), so a profile never offers something the gateway refuses.
// Pure functions from config to text; braidctl does the file I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "edge/config.hpp"
#include "ipsec/ike/auth_cert.hpp"
#include "ipsec/ike/proposal.hpp"

namespace braid::edge {

enum class ProfileFormat : uint8_t { kSwanctl, kNetworkManager, kMobileconfig, kPowershell };
std::optional<ProfileFormat> parseProfileFormat(std::string_view name);  // swanctl|nm|...

enum class ProfileAuth : uint8_t { kEap, kCertificate };

struct ProfileRequest {
  std::string user;
  ProfileFormat format = ProfileFormat::kSwanctl;
  std::string section;  // "" = the only section, or the one whose credentials name `user`
  std::string server;   // the address or name clients dial; "" = each uplink's address
  std::optional<ProfileAuth> auth;  // none: EAP if the section's credentials name the user
  // The CA certificates clients trust the gateway with ("" none: found among the gateway's
  // certificate chain and ca_certificates files, by the issuer of the gateway's certificate).
  std::vector<ike::Certificate> cas;
  std::vector<uint8_t> pkcs12;  // mobileconfig with certificate auth: the user's .p12
};

struct ProfileFile {
  std::string name;  // file name, no directory
  std::string text;
};

// Apple's and Windows' values for one IKE or ESP suite (names as their documentation spells
// them); empty strings when the platform has no such value.
struct AppleSuite {
  std::string encryption, integrity;
  int dhGroup = 0;  // IKE: the KE group; child: the PFS group (0: no PFS)
};
struct WindowsSuite {
  // IKE SA
  std::string encryptionMethod, integrityCheckMethod, dhGroup;
  // Child SA
  std::string cipherTransform, authenticationTransform, pfsGroup;
};

// The first suite (in the gateway's order of proposals and transforms) the platform can
// express and the gateway's selection accepts; nullopt if none.
std::optional<ike::Suite> pickSuite(const std::vector<ike::Proposal>& gateway,
                                    bool (*platformOk)(const ike::Suite&));
bool appleIkeOk(const ike::Suite& s);
bool appleEspOk(const ike::Suite& s);
bool windowsIkeOk(const ike::Suite& s);
bool windowsEspOk(const ike::Suite& s);
AppleSuite appleSuite(const ike::Suite& s);
WindowsSuite windowsSuite(const ike::Suite& ike, const ike::Suite& esp);

// The profile files for one user (the CA as its own file where the format cannot embed it).
// Errors: no such section or user, no CA found, no proposal the platform can use.
Result<std::vector<ProfileFile>> generateProfile(const Config& cfg, const ProfileRequest& req);

// The CA certificates that issued the gateway's certificate of `section`: looked up in its
// certificate chain and its ca_certificates: the root (intermediates come in IKE_AUTH).
std::vector<ike::Certificate> gatewayCas(const RemoteAccessSection& section);

// braidctl profile USER [--format F] [--config FILE] [--out DIR] [--section S] [--server H]
// [--auth eap|cert] [--ca PEM] [--p12 FILE]. Exit code 0, 1 (I/O), 2 (usage, config).
int braidctlProfileCommand(const std::vector<std::string>& args);

}  // namespace braid::edge
