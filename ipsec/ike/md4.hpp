// MD4 (RFC 1320), only for the NT password hash of MS-CHAPv2 (RFC 2759 8.3). OpenSSL 3
// keeps MD4 in the legacy provider, which braid does not rely on being loaded.
#pragma once

#include <array>
#include <cstdint>

#include "core/bytes.hpp"

namespace braid::ike {

std::array<uint8_t, 16> md4(Bytes data);

}  // namespace braid::ike
