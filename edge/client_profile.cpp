#include "edge/client_profile.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ipsec/ike/eap_auth.hpp"

namespace braid::edge {
namespace {

using ike::DhGroup;
using ike::EncrId;
using ike::IntegId;
using ike::PrfId;
using ike::Suite;

Status fail(const std::string& why) {
  return Status(ErrorCode::kInvalidArgument, why);
}

// "C=CH, O=braid lab, CN=gw": the DN in certificate order, as strongSwan and Apple write
// identities (RFC 2253's text is in reverse order).
std::string dnText(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  std::string out;
  if (X509_NAME_print_ex(bio, name, 0,
                         ASN1_STRFLGS_RFC2253 | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN) >= 0) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

std::string commonName(const X509_NAME* name) {
  char buf[256];
  int n = X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(name), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// The identity the gateway sends as IDr: local_id, else its certificate's subject DN.
std::string gatewayIdentity(const RemoteAccessSection& s) {
  if (s.ike.localId && s.ike.localId->type() != ike::IdType::kDerAsn1Dn) {
    return s.ike.localId->toString();
  }
  if (s.ike.localId) {
    const auto& der = s.ike.localId->data();
    const unsigned char* p = der.data();
    X509_NAME* n = d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size()));
    std::string out = n ? dnText(n) : std::string();
    X509_NAME_free(n);
    return out;
  }
  if (s.ike.certificates.empty()) return {};
  return dnText(X509_get_subject_name(s.ike.certificates.front().get()));
}

std::string base64(const std::vector<uint8_t>& der, size_t lineLen, const std::string& indent) {
  std::string out;
  std::vector<unsigned char> buf(4 * ((der.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(buf.data(), der.data(), static_cast<int>(der.size()));
  std::string all(reinterpret_cast<char*>(buf.data()), static_cast<size_t>(n));
  for (size_t i = 0; i < all.size(); i += lineLen) {
    out += indent + all.substr(i, lineLen) + "\n";
  }
  return out;
}

// A stable UUID per (profile, part): re-generating a profile replaces the installed one
// (Apple matches PayloadUUID/PayloadIdentifier) instead of adding a second.
std::string stableUuid(const std::string& seed) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(seed.data(), seed.size(), md, &len, EVP_sha256(), nullptr);
  md[6] = static_cast<unsigned char>((md[6] & 0x0f) | 0x50);  // version 5 layout (RFC 4122)
  md[8] = static_cast<unsigned char>((md[8] & 0x3f) | 0x80);
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// Proposal strings in braid's syntax, which is strongSwan's.
std::string joinProposals(const std::vector<ike::Proposal>& list, const char* sep) {
  std::string out;
  for (const auto& p : list) out += (out.empty() ? "" : sep) + ike::formatProposal(p);
  return out;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// PowerShell single-quoted string: ' doubles.
std::string psQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// swanctl.conf / keyfile values: names are config-checked; quote what has spaces.
std::string swQuote(const std::string& s) {
  if (s.find_first_of(" ,=\"#{}") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string fileSafe(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

std::string prefixList(const std::vector<IpPrefix>& v, const char* sep) {
  std::string out;
  for (const auto& p : v) out += (out.empty() ? "" : sep) + p.toString();
  return out;
}

// The subnets a user reaches: their group's, else the section's split subnets.
std::vector<IpPrefix> userSubnets(const RemoteAccessSection& s, const std::string& group) {
  for (const auto& [name, nets] : s.groups) {
    if (!group.empty() && name == group) return nets;
  }
  return s.splitSubnets;
}

struct Target {
  std::string uplink;   // uplink name
  std::string address;  // what the client dials
};

struct Ctx {
  const RemoteAccessSection* section = nullptr;
  std::string user, group, gatewayId;
  ProfileAuth auth = ProfileAuth::kEap;
  std::vector<Target> targets;
  std::vector<ike::Certificate> cas;
  std::vector<IpPrefix> subnets;
  std::string caFile;  // name of the CA file written next to the profile
  std::string connName(const Target& t) const {
    return "braid-" + section->name + (targets.size() > 1 ? "-" + t.uplink : "");
  }
};

std::string casPem(const Ctx& c) {
  std::string out;
  for (const auto& ca : c.cas) out += ca.toPem();
  return out;
}

// ---- strongSwan swanctl.conf -----------------------------------------------------------
std::vector<ProfileFile> swanctl(const Ctx& c) {
  const auto& s = *c.section;
  std::ostringstream o;
  o << "# braid remote access '" << s.name << "' for " << c.user
    << " (generated by braidctl profile).\n"
       "# Install: this file in /etc/swanctl/conf.d/, "
    << c.caFile << " in /etc/swanctl/x509ca/";
  if (c.auth == ProfileAuth::kCertificate) {
    o << ",\n# your certificate as /etc/swanctl/x509/" << fileSafe(c.user)
      << ".pem and its key in /etc/swanctl/private/";
  }
  o << "; then swanctl --load-all\n# and swanctl --initiate --child " << c.connName(c.targets[0])
    << ".\n";
  if (c.auth == ProfileAuth::kEap) {
    o << "# The password goes into a secrets section (e.g. in /etc/swanctl/conf.d/secrets.conf):\n"
         "#   secrets { eap-"
      << fileSafe(c.user) << " { id = " << swQuote(c.user) << "  secret = \"...\" } }\n";
  }
  o << "connections {\n";
  for (const auto& t : c.targets) {
    o << "  " << c.connName(t) << " {\n"
      << "    version = 2\n"
      << "    remote_addrs = " << t.address << "\n"
      << "    vips = "
      << (s.pools.size() > 1                     ? "0.0.0.0,::"
          : s.pools[0].family() == IpFamily::kV4 ? "0.0.0.0"
                                                 : "::")
      << "\n"
      << "    proposals = " << joinProposals(s.ike.proposals, ",") << "\n"
      << "    encap = yes\n"
      << "    mobike = no\n"
      << "    local {\n";
    if (c.auth == ProfileAuth::kEap) {
      o << "      auth = eap-mschapv2\n"
        << "      id = " << swQuote(c.user) << "\n"
        << "      eap_id = " << swQuote(c.user) << "\n";
    } else {
      o << "      auth = pubkey\n"
        << "      certs = " << fileSafe(c.user) << ".pem\n";
    }
    o << "    }\n"
      << "    remote {\n"
      << "      auth = pubkey\n"
      << "      id = " << swQuote(c.gatewayId) << "\n"
      << "      cacerts = " << c.caFile << "\n"
      << "    }\n"
      << "    children {\n"
      << "      " << c.connName(t) << " {\n"
      << "        remote_ts = " << prefixList(c.subnets, ",") << "\n"
      << "        esp_proposals = " << joinProposals(s.ike.espProposals, ",") << "\n"
      << "        start_action = none\n"
      << "      }\n"
      << "    }\n"
      << "  }\n";
  }
  o << "}\n";
  return {{"braid-" + fileSafe(s.name) + "-" + fileSafe(c.user) + ".conf", o.str()},
          {c.caFile, casPem(c)}};
}

// ---- NetworkManager keyfile (strongswan VPN plugin) --------------------------------------
// The plugin's ike/esp keys separate proposals with ';'.
std::string nmProposals(const std::vector<ike::Proposal>& list) {
  return joinProposals(list, ";");
}

std::vector<ProfileFile> networkManager(const Ctx& c) {
  const auto& s = *c.section;
  std::vector<ProfileFile> out;
  for (const auto& t : c.targets) {
    const std::string name = c.connName(t);
    std::ostringstream o;
    o << "# braid remote access '" << s.name << "' for " << c.user
      << " (braidctl profile). Install: copy to\n"
         "# /etc/NetworkManager/system-connections/ (mode 600) and "
      << c.caFile
      << " to /etc/braid/, then\n"
         "# nmcli connection reload (needs network-manager-strongswan).\n"
      << "[connection]\n"
      << "id=" << name << "\n"
      << "uuid=" << lower(stableUuid("nm/" + s.name + "/" + t.uplink + "/" + c.user)) << "\n"
      << "type=vpn\n"
      << "autoconnect=false\n\n"
      << "[vpn]\n"
      << "service-type=org.freedesktop.NetworkManager.strongswan\n"
      << "address=" << t.address << "\n"
      << "certificate=/etc/braid/" << c.caFile << "\n"
      << "remote-identity=" << c.gatewayId << "\n"
      << "encap=yes\n"
      << "ipcomp=no\n"
      << "virtual=yes\n"
      << "proposal=yes\n"
      << "ike=" << nmProposals(s.ike.proposals) << "\n"
      << "esp=" << nmProposals(s.ike.espProposals) << "\n"
      << "remote-ts=" << prefixList(c.subnets, ";") << "\n";
    if (c.auth == ProfileAuth::kEap) {
      o << "method=eap\n"
        << "user=" << c.user << "\n"
        << "password-flags=2\n";  // NM_SETTING_SECRET_FLAG_NOT_SAVED: asked at connect
    } else {
      o << "method=key\n"
        << "usercert=/etc/braid/" << fileSafe(c.user) << ".pem\n"
        << "userkey=/etc/braid/" << fileSafe(c.user) << ".key\n";
    }
    o << "\n[ipv4]\nmethod=auto\nnever-default=true\n";
    for (size_t i = 0; i < c.subnets.size(); ++i) {
      if (c.subnets[i].family() == IpFamily::kV4) {
        o << "route" << i + 1 << "=" << c.subnets[i].toString() << "\n";
      }
    }
    o << "\n[ipv6]\nmethod="
      << (s.pools.size() > 1 || s.pools[0].family() == IpFamily::kV6 ? "auto" : "ignore") << "\n";
    out.push_back({name + ".nmconnection", o.str()});
  }
  out.push_back({c.caFile, casPem(c)});
  return out;
}

// ---- Apple .mobileconfig ---------------------------------------------------------------
std::string plistDict(const std::vector<std::pair<std::string, std::string>>& kv,
                      const std::string& ind) {
  std::string out = ind + "<dict>\n";
  for (const auto& [k, v] : kv) out += ind + "  <key>" + k + "</key>\n" + ind + "  " + v + "\n";
  return out + ind + "</dict>\n";
}
// A dict as the value of a key at indentation `ind` (plistDict puts values at ind + 2).
std::string nested(const std::vector<std::pair<std::string, std::string>>& kv,
                   const std::string& ind) {
  std::string d = plistDict(kv, ind + "  ");
  d.erase(0, ind.size() + 2);
  d.pop_back();
  return d;
}
// LifeTimeInMinutes: Apple takes 10 to 1440.
long appleMinutes(Duration d) {
  return std::clamp<long>(std::chrono::duration_cast<std::chrono::minutes>(d).count(), 10, 1440);
}
std::string pStr(const std::string& s) {
  return "<string>" + xmlEscape(s) + "</string>";
}
std::string pInt(long v) {
  return "<integer>" + std::to_string(v) + "</integer>";
}

Result<std::vector<ProfileFile>> mobileconfig(const Ctx& c, const ProfileRequest& req) {
  const auto& s = *c.section;
  auto ikeSuite = pickSuite(s.ike.proposals, appleIkeOk);
  auto espSuite = pickSuite(s.ike.espProposals, appleEspOk);
  if (!ikeSuite || !espSuite) {
    return fail("section '" + s.name + "': no " + (ikeSuite ? "ESP" : "IKE") +
                " proposal Apple devices can use (proposals = \"" +
                ike::formatProposals(ikeSuite ? s.ike.espProposals : s.ike.proposals) +
                "\"); add e.g. \"aes256gcm16-prfsha256-ecp256\" / \"aes256gcm16\"");
  }
  if (c.auth == ProfileAuth::kCertificate && req.pkcs12.empty()) {
    return fail(
        "a certificate profile for Apple devices embeds the user's identity: give "
        "--p12 FILE (openssl pkcs12 -export -in USER.pem -inkey USER.key -out USER.p12)");
  }
  const AppleSuite ai = appleSuite(*ikeSuite), ae = appleSuite(*espSuite);
  const std::string base = "braid." + s.name + "." + c.user;
  const std::string ind = "    ";
  std::string content;
  std::vector<std::string> caUuids;
  for (size_t i = 0; i < c.cas.size(); ++i) {
    const std::string uuid = stableUuid(base + "/ca/" + std::to_string(i));
    caUuids.push_back(uuid);
    const std::string cn = commonName(X509_get_subject_name(c.cas[i].get()));
    content +=
        plistDict({{"PayloadCertificateFileName", pStr(fileSafe(cn.empty() ? "ca" : cn) + ".cer")},
                   {"PayloadContent",
                    "<data>\n" + base64(c.cas[i].der(), 52, ind + "  ") + ind + "  </data>"},
                   {"PayloadDisplayName", pStr(cn.empty() ? "braid CA" : cn)},
                   {"PayloadIdentifier", pStr(base + ".ca" + std::to_string(i))},
                   {"PayloadType", pStr("com.apple.security.root")},
                   {"PayloadUUID", pStr(uuid)},
                   {"PayloadVersion", pInt(1)}},
                  ind);
  }
  std::string p12Uuid;
  if (c.auth == ProfileAuth::kCertificate) {
    p12Uuid = stableUuid(base + "/p12");
    content += plistDict(
        {{"PayloadCertificateFileName", pStr(fileSafe(c.user) + ".p12")},
         {"PayloadContent", "<data>\n" + base64(req.pkcs12, 52, ind + "  ") + ind + "  </data>"},
         {"PayloadDisplayName", pStr(c.user)},
         {"PayloadIdentifier", pStr(base + ".identity")},
         {"PayloadType", pStr("com.apple.security.pkcs12")},
         {"PayloadUUID", pStr(p12Uuid)},
         {"PayloadVersion", pInt(1)}},
        ind);
  }
  // The CN of the gateway certificate's issuer (an intermediate CA's, if there is one).
  const std::string issuerCn =
      s.ike.certificates.empty()
          ? std::string()
          : commonName(X509_get_issuer_name(s.ike.certificates.front().get()));
  for (const auto& t : c.targets) {
    const std::string id2 = ind + "  ";
    std::vector<std::pair<std::string, std::string>> ikev2 = {
        {"RemoteAddress", pStr(t.address)},
        {"RemoteIdentifier", pStr(c.gatewayId)},
        {"LocalIdentifier", pStr(c.user)},
        {"ServerCertificateIssuerCommonName", pStr(issuerCn)},
        {"IKESecurityAssociationParameters",
         nested({{"EncryptionAlgorithm", pStr(ai.encryption)},
                 {"IntegrityAlgorithm", pStr(ai.integrity)},
                 {"DiffieHellmanGroup", pInt(ai.dhGroup)},
                 {"LifeTimeInMinutes", pInt(appleMinutes(s.ike.ikeLifetime.rekeyTime))}},
                id2)},
        {"ChildSecurityAssociationParameters",
         nested({{"EncryptionAlgorithm", pStr(ae.encryption)},
                 {"IntegrityAlgorithm", pStr(ai.integrity)},
                 // Used for rekeys only with EnablePFS (RFC 7296 1.3.1).
                 {"DiffieHellmanGroup", pInt(ae.dhGroup != 0 ? ae.dhGroup : ai.dhGroup)},
                 {"LifeTimeInMinutes", pInt(appleMinutes(s.ike.childLifetime.rekeyTime))}},
                id2)},
        {"EnablePFS", pInt(ae.dhGroup != 0 ? 1 : 0)},
        {"DisableMOBIKE", pInt(1)},
        {"DisableRedirect", pInt(1)},
        {"DeadPeerDetectionRate", pStr("Medium")},
    };
    if (c.auth == ProfileAuth::kEap) {
      ikev2.push_back({"AuthenticationMethod", pStr("None")});
      ikev2.push_back({"ExtendedAuthEnabled", pInt(1)});
      ikev2.push_back({"AuthName", pStr(c.user)});
    } else {
      ikev2.push_back({"AuthenticationMethod", pStr("Certificate")});
      ikev2.push_back({"PayloadCertificateUUID", pStr(p12Uuid)});
    }
    content += plistDict({{"IKEv2", nested(ikev2, ind)},
                          {"PayloadDisplayName", pStr("VPN " + c.connName(t))},
                          {"PayloadIdentifier", pStr(base + ".vpn." + t.uplink)},
                          {"PayloadType", pStr("com.apple.vpn.managed")},
                          {"PayloadUUID", pStr(stableUuid(base + "/vpn/" + t.uplink))},
                          {"PayloadVersion", pInt(1)},
                          {"UserDefinedName", pStr(c.connName(t))},
                          {"VPNType", pStr("IKEv2")}},
                         ind);
  }
  std::string o =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<plist version=\"1.0\">\n<dict>\n"
      "  <key>PayloadContent</key>\n  <array>\n" +
      content +
      "  </array>\n"
      "  <key>PayloadDisplayName</key>\n  " +
      pStr("braid " + s.name + " (" + c.user + ")") +
      "\n"
      "  <key>PayloadIdentifier</key>\n  " +
      pStr(base) +
      "\n"
      "  <key>PayloadType</key>\n  <string>Configuration</string>\n"
      "  <key>PayloadUUID</key>\n  " +
      pStr(stableUuid(base)) +
      "\n"
      "  <key>PayloadVersion</key>\n  <integer>1</integer>\n"
      "</dict>\n</plist>\n";
  return std::vector<ProfileFile>{
      {"braid-" + fileSafe(s.name) + "-" + fileSafe(c.user) + ".mobileconfig", o}};
}

// ---- Windows PowerShell ----------------------------------------------------------------
Result<std::vector<ProfileFile>> powershell(const Ctx& c) {
  const auto& s = *c.section;
  auto ikeSuite = pickSuite(s.ike.proposals, windowsIkeOk);
  auto espSuite = pickSuite(s.ike.espProposals, windowsEspOk);
  if (!ikeSuite || !espSuite) {
    return fail(
        "section '" + s.name + "': no " + (ikeSuite ? "ESP" : "IKE") +
        " proposal Windows can use (" + (ikeSuite ? "esp_proposals" : "proposals") + " = \"" +
        ike::formatProposals(ikeSuite ? s.ike.espProposals : s.ike.proposals) +
        "\"); Windows takes AES-CBC/AES-GCM with SHA-256/384 and ecp256, ecp384 or modp2048 for "
        "IKE and aes128gcm16 or aes256gcm16 (PFS none, ecp256, ecp384 or modp2048) for ESP: add "
        "e.g. \"aes256gcm16-prfsha256-ecp256\" to proposals");
  }
  const WindowsSuite w = windowsSuite(*ikeSuite, *espSuite);
  std::ostringstream o;
  o << "# braid remote access '" << s.name << "' for " << c.user
    << " (generated by braidctl profile).\n"
       "# Run in an elevated PowerShell: powershell -ExecutionPolicy Bypass -File <this file>\n"
       "# IKE: "
    << ike::formatProposal(ike::proposalOf(*ikeSuite))
    << ", ESP: " << ike::formatProposal(ike::proposalOf(*espSuite))
    << " (accepted by the gateway).\n"
       "$ErrorActionPreference = 'Stop'\n\n"
       "# The CA that signed the gateway's certificate, into the machine's trusted roots.\n"
       "$caPem = @'\n"
    << casPem(c)
    << "'@\n"
       "$caFile = Join-Path $env:TEMP "
    << psQuote(c.caFile)
    << "\n"
       "Set-Content -Path $caFile -Value $caPem -Encoding ascii\n"
       "Import-Certificate -FilePath $caFile -CertStoreLocation Cert:\\LocalMachine\\Root | "
       "Out-Null\n";
  for (const auto& t : c.targets) {
    const std::string name = psQuote(c.connName(t));
    o << "\n# Gateway uplink " << t.uplink << ".\n"
      << "Add-VpnConnection -Name " << name << " -ServerAddress " << psQuote(t.address)
      << " -TunnelType Ikev2 -AuthenticationMethod "
      << (c.auth == ProfileAuth::kEap ? "Eap" : "MachineCertificate")
      << " -EncryptionLevel Required -SplitTunneling"
      << (c.auth == ProfileAuth::kEap ? " -RememberCredential" : "") << " -Force\n"
      << "Set-VpnConnectionIPsecConfiguration -ConnectionName " << name
      << " -AuthenticationTransformConstants " << w.authenticationTransform
      << " -CipherTransformConstants " << w.cipherTransform << " -EncryptionMethod "
      << w.encryptionMethod << " -IntegrityCheckMethod " << w.integrityCheckMethod << " -DHGroup "
      << w.dhGroup << " -PfsGroup " << w.pfsGroup << " -Force\n";
    for (const auto& p : c.subnets) {
      o << "Add-VpnConnectionRoute -ConnectionName " << name << " -DestinationPrefix "
        << psQuote(p.toString()) << "\n";
    }
  }
  if (c.auth == ProfileAuth::kEap) {
    o << "\n# Connect: rasdial " << psQuote(c.connName(c.targets[0])) << " " << psQuote(c.user)
      << " (asks for the password), or from the network menu.\n";
  }
  return std::vector<ProfileFile>{
      {"braid-" + fileSafe(s.name) + "-" + fileSafe(c.user) + ".ps1", o.str()}};
}

}  // namespace

std::optional<ProfileFormat> parseProfileFormat(std::string_view name) {
  if (name == "swanctl") return ProfileFormat::kSwanctl;
  if (name == "nm" || name == "networkmanager") return ProfileFormat::kNetworkManager;
  if (name == "mobileconfig" || name == "apple") return ProfileFormat::kMobileconfig;
  if (name == "powershell" || name == "windows") return ProfileFormat::kPowershell;
  return std::nullopt;
}

std::optional<Suite> pickSuite(const std::vector<ike::Proposal>& gateway,
                               bool (*platformOk)(const Suite&)) {
  using ike::TransformType;
  auto orNone = [](std::vector<ike::Transform> v, TransformType t) {
    if (v.empty()) v.push_back({t, 0, 0});
    return v;
  };
  for (const auto& p : gateway) {
    const auto encrs = p.ofType(TransformType::kEncr);
    const auto prfs = orNone(p.ofType(TransformType::kPrf), TransformType::kPrf);
    const auto integs = orNone(p.ofType(TransformType::kInteg), TransformType::kInteg);
    const auto dhs = orNone(p.ofType(TransformType::kKe), TransformType::kKe);
    const auto esns = orNone(p.ofType(TransformType::kEsn), TransformType::kEsn);
    for (const auto& e : encrs) {
      for (const auto& f : prfs) {
        for (const auto& i : integs) {
          for (const auto& d : dhs) {
            for (const auto& n : esns) {
              ike::Proposal one;
              one.protocol = p.protocol;
              for (const auto* t : {&e, &f, &i, &d, &n}) {
                if (t->id != 0 || (t->type == TransformType::kEsn && p.hasType(t->type))) {
                  one.transforms.push_back(*t);
                }
              }
              auto suite = ike::suiteOf(one);
              if (!suite || !platformOk(*suite)) continue;
              // The gateway's own selection must take it, as the client will offer it.
              const ike::Proposal offer = ike::proposalOf(*suite);
              if (ike::selectProposal(gateway, std::vector<ike::Proposal>{offer})) return *suite;
            }
          }
        }
      }
    }
  }
  return std::nullopt;
}

std::vector<ike::Certificate> gatewayCas(const RemoteAccessSection& section) {
  std::vector<ike::Certificate> pool(section.ike.certificates.begin(),
                                     section.ike.certificates.end());
  if (section.ike.cas)
    pool.insert(pool.end(), section.ike.cas->cas().begin(), section.ike.cas->cas().end());
  std::vector<ike::Certificate> out;
  if (section.ike.certificates.empty()) return out;
  // Walk up from the gateway's certificate by issuer name, to a self-signed root.
  X509* at = section.ike.certificates.front().get();
  for (int depth = 0; depth < 8; ++depth) {
    if (X509_NAME_cmp(X509_get_issuer_name(at), X509_get_subject_name(at)) == 0) break;
    const ike::Certificate* up = nullptr;
    for (const auto& c : pool) {
      if (X509_NAME_cmp(X509_get_subject_name(c.get()), X509_get_issuer_name(at)) == 0 &&
          X509_check_issued(c.get(), at) == X509_V_OK) {
        up = &c;
        break;
      }
    }
    if (up == nullptr) break;
    out.push_back(*up);
    at = up->get();
  }
  // Intermediates are sent by the gateway in IKE_AUTH; clients need the root (last).
  if (!out.empty()) out.erase(out.begin(), out.end() - 1);
  return out;
}

Result<std::vector<ProfileFile>> generateProfile(const Config& cfg, const ProfileRequest& req) {
  const RemoteAccessSection* sec = nullptr;
  for (const auto& s : cfg.remoteAccess) {
    if (!req.section.empty()) {
      if (s.name == req.section) sec = &s;
    } else if (s.eapUsers && s.eapUsers->find(req.user) && sec == nullptr) {
      sec = &s;
    }
  }
  if (sec == nullptr && req.section.empty() && cfg.remoteAccess.size() == 1) {
    sec = &cfg.remoteAccess[0];
  }
  if (sec == nullptr) {
    return fail(req.section.empty() ? "no [[remote_access]] section names user '" + req.user +
                                          "' in its credentials; expected --section NAME"
                                    : "no [[remote_access]] section named '" + req.section + "'");
  }
  Ctx c;
  c.section = sec;
  c.user = req.user;
  const ike::EapUser* eap = sec->eapUsers ? sec->eapUsers->find(req.user) : nullptr;
  c.auth = req.auth.value_or(eap != nullptr ? ProfileAuth::kEap : ProfileAuth::kCertificate);
  if (c.auth == ProfileAuth::kEap && eap == nullptr) {
    return fail("section '" + sec->name + "': user '" + req.user + "' is not in " +
                (sec->credentials.empty() ? std::string("a credentials file (the section has none)")
                                          : "its credentials file " + sec->credentials) +
                "; expected braidctl user add first, or --auth cert");
  }
  if (eap != nullptr) c.group = eap->group;
  c.subnets = userSubnets(*sec, c.group);
  c.gatewayId = gatewayIdentity(*sec);
  c.cas = req.cas.empty() ? gatewayCas(*sec) : req.cas;
  if (c.cas.empty()) {
    return fail("section '" + sec->name +
                "': the CA of the gateway's certificate is neither in its certificate file nor "
                "in ca_certificates; expected --ca FILE with that CA");
  }
  c.caFile = "braid-" + fileSafe(sec->name) + "-ca.pem";
  for (size_t u : sec->uplinks) {
    c.targets.push_back({cfg.uplinks[u].name,
                         req.server.empty() ? cfg.uplinks[u].localAddress.toString() : req.server});
  }
  if (!req.server.empty()) c.targets.resize(1);
  if (c.targets.empty() || sec->pools.empty())
    return fail("section '" + sec->name + "' serves no uplink");
  switch (req.format) {
    case ProfileFormat::kSwanctl:
      return swanctl(c);
    case ProfileFormat::kNetworkManager:
      return networkManager(c);
    case ProfileFormat::kMobileconfig:
      return mobileconfig(c, req);
    case ProfileFormat::kPowershell:
      return powershell(c);
  }
  return fail("unknown format");
}

int braidctlProfileCommand(const std::vector<std::string>& args) {
  // args[0] == "profile"
  ProfileRequest req;
  std::string configPath = "/etc/braid/braidd.toml", outDir;
  std::vector<std::string> caFiles;
  std::string p12File;
  auto usage = [] {
    std::cerr << "usage: braidctl profile USER [--format swanctl|nm|mobileconfig|powershell] "
                 "[--config FILE] [--out DIR] [--section NAME] [--server HOST] [--auth eap|cert] "
                 "[--ca PEM] [--p12 FILE]\n";
    return 2;
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool hasValue = i + 1 < args.size();
    if (a == "--format" && hasValue) {
      auto f = parseProfileFormat(args[++i]);
      if (!f) {
        std::cerr << "braidctl: unknown profile format '" << args[i]
                  << "'; expected swanctl, nm, mobileconfig or powershell\n";
        return 2;
      }
      req.format = *f;
    } else if (a == "--config" && hasValue) {
      configPath = args[++i];
    } else if (a == "--out" && hasValue) {
      outDir = args[++i];
    } else if (a == "--section" && hasValue) {
      req.section = args[++i];
    } else if (a == "--server" && hasValue) {
      req.server = args[++i];
    } else if (a == "--auth" && hasValue) {
      const std::string& v = args[++i];
      if (v == "eap") {
        req.auth = ProfileAuth::kEap;
      } else if (v == "cert" || v == "certificate") {
        req.auth = ProfileAuth::kCertificate;
      } else {
        std::cerr << "braidctl: --auth expects eap or cert\n";
        return 2;
      }
    } else if (a == "--ca" && hasValue) {
      caFiles.push_back(args[++i]);
    } else if (a == "--p12" && hasValue) {
      p12File = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "braidctl: unknown or incomplete option '" << a << "'\n";
      return usage();
    } else if (req.user.empty()) {
      req.user = a;
    } else {
      return usage();
    }
  }
  if (req.user.empty()) return usage();
  for (const auto& f : caFiles) {
    auto certs = ike::Certificate::loadPemFile(f);
    if (!certs) {
      std::cerr << "braidctl: " << f << ": " << certs.status().message() << "\n";
      return 2;
    }
    req.cas.insert(req.cas.end(), certs->begin(), certs->end());
  }
  if (!p12File.empty()) {
    std::ifstream in(p12File, std::ios::binary);
    if (!in) {
      std::cerr << "braidctl: cannot read " << p12File << "\n";
      return 1;
    }
    req.pkcs12.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto cfg = loadConfigFile(configPath);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return 2;
  }
  auto files = generateProfile(*cfg, req);
  if (!files) {
    std::cerr << "braidctl: " << files.status().message() << "\n";
    return 2;
  }
  if (outDir.empty()) {
    // stdout: the profile itself; the CA file (if a separate one) goes to --out only.
    std::cout << files->front().text;
    return 0;
  }
  ::mkdir(outDir.c_str(), 0755);
  for (const auto& f : *files) {
    const std::string path = outDir + "/" + f.name;
    std::ofstream out(path, std::ios::trunc);
    out << f.text;
    out.close();
    if (!out) {
      std::cerr << "braidctl: cannot write " << path << "\n";
      return 1;
    }
    // NetworkManager ignores keyfiles that others may read.
    if (f.name.ends_with(".nmconnection")) ::chmod(path.c_str(), 0600);
    std::cout << path << "\n";
  }
  return 0;
}

}  // namespace braid::edge
