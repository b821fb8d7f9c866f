// The EAP credentials file of a [[remote_access]] section (`credentials = "/path"`,
// docs/remote-access.md): one user per line, `name group nthash`, where nthash is the
// MS-CHAPv2 NT hash of the password (RFC 2759 8.3, 32 hex digits) and group is `-` for none.
// The password itself is never stored; `braidctl user add` writes the lines.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "ipsec/ike/eap_auth.hpp"

namespace braid::edge {

struct CredentialsFile {
  std::shared_ptr<ike::EapUserTable> users;
  std::vector<std::string> errors;    // "path:line:col: message"
  std::vector<std::string> warnings;  // e.g. a file others may read
};

// Parses the text of a credentials file named `path` (for the messages).
CredentialsFile parseCredentials(std::string_view text, const std::string& path);
// Reads and parses the file; a file that others may read is a warning (the NT hash is
// as good as the password to MS-CHAPv2).
CredentialsFile loadCredentials(const std::string& path);

// A user or group name: 1-64 printable characters, no spaces or '#'.
bool validCredentialName(std::string_view name);

// Sets NAME's line (replaced if present, else appended), keeping the other lines; the file
// is written anew (mode 0600) and renamed into place. An empty group is written as "-".
Status addCredentialsUser(const std::string& path, const std::string& name,
                          const std::string& group, const ike::NtHash& hash);

// braidctl user add FILE NAME [--group G]: reads the password twice (no echo on a tty, else
// one line from stdin). Returns the exit code (0 ok, 1 I/O, 2 usage).
int braidctlUserCommand(const std::vector<std::string>& args);

}  // namespace braid::edge
