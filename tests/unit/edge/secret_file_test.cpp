// Key material from files and hex (edge/secret_file.hpp).
#include "edge/secret_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "core/hex.hpp"

namespace braid::edge {
namespace {

TEST(SecretFromHexTest, AcceptsWhatFromHexAccepts) {
  for (const char* text : {"0102a0ff", "0x0102A0FF", "01:02:a0:ff", "01 02\ta0\nff", ""}) {
    auto want = fromHex(text);
    auto got = secretFromHex(text);
    ASSERT_EQ(want.has_value(), got.has_value()) << text;
    EXPECT_EQ(std::vector<uint8_t>(got->data(), got->data() + got->size()), *want) << text;
  }
  for (const char* text : {"0", "0g", "0:1", "zz", "01 2"}) {
    EXPECT_FALSE(fromHex(text).has_value()) << text;
    EXPECT_FALSE(secretFromHex(text).has_value()) << text;
  }
}

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/braid-secret-" + std::to_string(::getpid());
    std::ofstream(path_) << "secret\n";
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(SecretFileTest, ReadsAPrivateFile) {
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  auto r = readSecretFile(path_, SecretFileCheck::kPrivate);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r->data()), r->size()), "secret\n");
}

TEST_F(SecretFileTest, RefusesGroupOrWorldAccess) {
  for (mode_t mode : {0640, 0604, 0644, 0610, 0602, 0660}) {
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    auto r = readSecretFile(path_, SecretFileCheck::kPrivate);
    ASSERT_FALSE(r.isOk()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), ErrorCode::kPermissionDenied);
    // The configuration file itself is read whatever its mode.
    EXPECT_TRUE(readSecretFile(path_, SecretFileCheck::kNone).isOk());
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0400), 0);
  EXPECT_TRUE(readSecretFile(path_, SecretFileCheck::kPrivate).isOk());
}

TEST_F(SecretFileTest, RefusesOtherOwnersAndNonFiles) {
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(path_.c_str(), 65534, 65534), 0);
    auto r = readSecretFile(path_, SecretFileCheck::kPrivate);
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("owned by uid 65534"), std::string::npos);
  }
  EXPECT_FALSE(readSecretFile("/dev/zero", SecretFileCheck::kPrivate).isOk());
  EXPECT_FALSE(readSecretFile(::testing::TempDir(), SecretFileCheck::kNone).isOk());
  EXPECT_FALSE(readSecretFile("/nonexistent/key", SecretFileCheck::kNone).isOk());
}

}  // namespace
}  // namespace braid::edge
