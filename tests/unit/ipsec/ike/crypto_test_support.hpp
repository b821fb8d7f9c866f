// Helpers shared by the IKE crypto unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/hex.hpp"

namespace braid::ike::test {

inline std::vector<uint8_t> unhex(const std::string& text) {
  auto v = fromHex(text);
  EXPECT_TRUE(v.has_value()) << "bad hex in test: " << text.substr(0, 40);
  return v.value_or(std::vector<uint8_t>{});
}

inline std::string hexOf(Bytes b) {
  return toHex(b);
}

}  // namespace braid::ike::test
