// Key material from the configuration (manual ESP keys, PSKs, private keys): parsed and read
// without leaving copies in freed memory, and key files checked like ssh checks its keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/secure.hpp"

namespace braid::edge {

// Hex as core/hex.hpp's fromHex accepts it (optional 0x, ':' ' ' tab newline between bytes),
// decoded into one buffer sized up front: no reallocation leaves a copy behind.
std::optional<SecretBytes> secretFromHex(std::string_view text);

enum class SecretFileCheck : uint8_t {
  kPrivate,  // a key file: regular, owned by us or root, no group/other permission bits
  kNone,     // the configuration file (it may hold inline keys; it is not ours to judge)
};

// Reads a whole (small, at most 1 MiB) file into wiped-on-free memory, with read(2) so that
// no stdio buffer keeps a copy. With kPrivate, refuses files that group or others may access
// (mode & 077), as ssh refuses such private keys; the check is made on the open descriptor.
Result<SecretBytes> readSecretFile(const std::string& path, SecretFileCheck check);

}  // namespace braid::edge
