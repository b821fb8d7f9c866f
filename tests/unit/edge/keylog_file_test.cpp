// [ike] keylog: the file that receives every IKE and ESP key is never reached through a
// symlink, never another user's file, and always mode 0600 (edge/ike_support.hpp).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "edge/ike_support.hpp"

namespace braid::edge {
namespace {

namespace fs = std::filesystem;

class KeyLogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/braid-keylog-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  static mode_t modeOf(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  std::string dir_;
};

TEST_F(KeyLogFileTest, NewFileIsPrivate) {
  const std::string p = dir_ + "/keys";
  ASSERT_TRUE(KeyLogFile::open(p).isOk());
  EXPECT_EQ(modeOf(p), 0600u);
}

TEST_F(KeyLogFileTest, ExistingFileIsNarrowedTo0600AndAppended) {
  const std::string p = dir_ + "/keys";
  std::ofstream(p) << "old\n";
  ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
  auto k = KeyLogFile::open(p);
  ASSERT_TRUE(k.isOk()) << k.status().message();
  EXPECT_EQ(modeOf(p), 0600u);
  k->reset();
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "old");  // appended to, not truncated
}

TEST_F(KeyLogFileTest, SymlinkIsNotFollowed) {
  const std::string target = dir_ + "/target";
  std::ofstream(target) << "";
  ASSERT_EQ(::chmod(target.c_str(), 0644), 0);
  const std::string link = dir_ + "/keys";
  fs::create_symlink(target, link);
  auto k = KeyLogFile::open(link);
  ASSERT_FALSE(k.isOk());
  EXPECT_NE(k.status().message().find("symbolic link"), std::string::npos);
  EXPECT_EQ(modeOf(target), 0644u);  // untouched
  // A dangling symlink would otherwise create the file where it points.
  fs::create_symlink(dir_ + "/nowhere", dir_ + "/dangling");
  EXPECT_FALSE(KeyLogFile::open(dir_ + "/dangling").isOk());
  EXPECT_FALSE(fs::exists(dir_ + "/nowhere"));
}

TEST_F(KeyLogFileTest, NonRegularOrForeignFilesAreRefused) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(KeyLogFile::open(fifo).isOk());  // and does not hang
  EXPECT_FALSE(KeyLogFile::open(dir_).isOk());
  if (::geteuid() == 0) {
    const std::string p = dir_ + "/foreign";
    std::ofstream(p) << "";
    ASSERT_EQ(::chown(p.c_str(), 65534, 65534), 0);
    auto k = KeyLogFile::open(p);
    ASSERT_FALSE(k.isOk());
    EXPECT_NE(k.status().message().find("owned by uid 65534"), std::string::npos);
  }
}

}  // namespace
}  // namespace braid::edge
