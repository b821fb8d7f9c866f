// Helpers shared by the config tests: where a needle sits as "t.toml:L:C: ", and checks
// that parsing fails with an error line starting there.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "edge/config.hpp"

namespace braid::edge::testing {

// "t.toml:L:C: " of the first occurrence of `needle`, `extra` bytes further (1-based, as
// toml++ counts).
inline std::string at(const std::string& text, const std::string& needle, size_t extra = 0) {
  size_t pos = text.find(needle);
  EXPECT_NE(pos, std::string::npos) << needle;
  if (pos == std::string::npos) return "t.toml:?:?: ";
  pos += extra;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "t.toml:" + std::to_string(line) + ":" + std::to_string(col) + ": ";
}

inline std::string errorsOf(const std::string& text) {
  auto r = parseConfig(text, "t.toml");
  EXPECT_FALSE(r.isOk()) << "expected an error for:\n" << text;
  return r.isOk() ? std::string() : r.status().message();
}

// Some line of the errors starts with `where` and contains `what`.
inline bool hasError(const std::string& errs, const std::string& where, const std::string& what) {
  size_t start = 0;
  while (start <= errs.size()) {
    size_t end = errs.find('\n', start);
    std::string line =
        errs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.rfind(where, 0) == 0 && line.find(what) != std::string::npos) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

}  // namespace braid::edge::testing

#define EXPECT_CONFIG_ERROR(text, where, what)                        \
  do {                                                                \
    std::string errs_ = ::braid::edge::testing::errorsOf(text);       \
    EXPECT_TRUE(::braid::edge::testing::hasError(errs_, where, what)) \
        << "want: " << (where) << "..." << (what) << "\ngot:\n"       \
        << errs_;                                                     \
  } while (0)
