// Hex helpers for configuration keys, logs and test vectors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"

namespace braid {

std::string toHex(Bytes data);
// Accepts an optional "0x" prefix; ignores ':' ' ' and '\n' separators. nullopt on bad input.
std::optional<std::vector<uint8_t>> fromHex(std::string_view text);

}  // namespace braid
