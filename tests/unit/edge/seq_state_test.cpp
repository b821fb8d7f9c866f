// Sequence-number reservations of manually keyed SAs (edge/seq_state.hpp): a restart with
// the same key must continue above every number that may have been sent.
#include "edge/seq_state.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace braid::edge {
namespace {

namespace fs = std::filesystem;

const std::vector<uint8_t> kKeyA(36, 0xA5);
const std::vector<uint8_t> kKeyB(36, 0x5A);

class SeqStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/braid-seq-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/state";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<SeqStateFile> open(const std::vector<uint8_t>& key, uint32_t spi = 0x1001) {
    auto r = SeqStateFile::open(dir_, spi, Bytes(key));
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r ? std::move(*r) : nullptr;
  }
  std::string stateFile(const std::vector<uint8_t>& key) {
    return dir_ + "/esp-out-" + seqKeyFingerprint(Bytes(key)) + ".seq";
  }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  }

  std::string root_, dir_;
};

TEST_F(SeqStateTest, NewKeyStartsAtZeroAndCreatesThePrivateDirectory) {
  auto s = open(kKeyA);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->reserved(), 0u);
  struct stat st;
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_FALSE(fs::exists(stateFile(kKeyA)));  // nothing reserved yet, nothing written
}

TEST_F(SeqStateTest, ReservationSurvivesACrashBeforeUse) {
  {
    auto s = open(kKeyA);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->reserve(1 << 20).isOk());
    EXPECT_EQ(s->reserved(), 1u << 20);
    // "Crash": the SA sent nothing (or anything up to the mark); the object just goes.
  }
  auto s = open(kKeyA);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->reserved(), 1u << 20);  // the restart resumes above the mark
  struct stat st;
  ASSERT_EQ(::stat(stateFile(kKeyA).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(stateFile(kKeyA) + ".tmp"));
  // The file names the key by fingerprint only.
  std::string text = read(stateFile(kKeyA));
  EXPECT_EQ(text.find("a5a5a5a5"), std::string::npos);
  EXPECT_NE(text.find("spi 0x00001001"), std::string::npos);
}

TEST_F(SeqStateTest, BlockRolloverIsMonotonicAndNeverShrinks) {
  auto s = open(kKeyA);
  ASSERT_NE(s, nullptr);
  uint64_t mark = 0;
  for (int i = 0; i < 5; ++i) {
    uint64_t next = nextSeqReservation(mark, 1024, false);
    EXPECT_EQ(next, mark + 1024);
    ASSERT_TRUE(s->reserve(next).isOk());
    mark = next;
  }
  EXPECT_EQ(s->reserved(), 5u * 1024);
  ASSERT_TRUE(s->reserve(100).isOk());  // lower: ignored
  EXPECT_EQ(s->reserved(), 5u * 1024);
  s.reset();
  EXPECT_EQ(open(kKeyA)->reserved(), 5u * 1024);
}

TEST_F(SeqStateTest, ReservationStopsAtTheEndOfTheSequenceSpace) {
  EXPECT_EQ(nextSeqReservation(UINT32_MAX - 10, 1024, false), uint64_t(UINT32_MAX));
  EXPECT_EQ(nextSeqReservation(UINT32_MAX, 1024, false), uint64_t(UINT32_MAX));
  EXPECT_EQ(nextSeqReservation(UINT32_MAX, 1024, true), uint64_t(UINT32_MAX) + 1024);
  EXPECT_EQ(nextSeqReservation(UINT64_MAX - 1, 1024, true), UINT64_MAX);
}

TEST_F(SeqStateTest, AnotherKeyStartsFromOneAndTheOldMarkStays) {
  {
    auto s = open(kKeyA);
    ASSERT_TRUE(s->reserve(5000).isOk());
  }
  EXPECT_EQ(open(kKeyB)->reserved(), 0u);     // a new key: fresh nonces from 1
  EXPECT_EQ(open(kKeyA)->reserved(), 5000u);  // back to the old key: still above its mark
  // A new SPI with the same key keeps the key's counter (the nonce does not contain the SPI).
  EXPECT_EQ(open(kKeyA, 0x7777)->reserved(), 5000u);
}

TEST_F(SeqStateTest, CorruptStateRefusesToStart) {
  {
    auto s = open(kKeyA);
    ASSERT_TRUE(s->reserve(4096).isOk());
  }
  const std::string path = stateFile(kKeyA);
  const std::string good = read(path);
  auto refused = [&](const std::string& text, const std::string& why) {
    write(path, text);
    auto r = SeqStateFile::open(dir_, 0x1001, Bytes(kKeyA));
    EXPECT_FALSE(r.isOk()) << why;
    if (!r) {
      EXPECT_NE(r.status().message().find("is corrupt"), std::string::npos) << r.status().message();
    }
  };
  std::string edited = good;
  edited.replace(edited.find("reserved 4096"), 13, "reserved 1000");  // lowered by hand
  refused(edited, "checksum");
  refused(good.substr(0, good.size() - 5), "truncated");
  refused("", "empty");
  refused(good + "extra 1\n", "extra line");
  std::string other = good;
  other.replace(other.find("fingerprint ") + 12, 4, "0000");
  refused(other, "fingerprint");
  refused(std::string(600, 'x'), "too long");
  write(path, good);
  EXPECT_EQ(open(kKeyA)->reserved(), 4096u);
}

TEST_F(SeqStateTest, UnreadableStateRefusesToStart) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  // A directory where the state file should be: neither readable as a file nor replaceable.
  ASSERT_EQ(::mkdir(stateFile(kKeyA).c_str(), 0700), 0);
  auto r = SeqStateFile::open(dir_, 0x1001, Bytes(kKeyA));
  EXPECT_FALSE(r.isOk());
  // A symlink is not followed.
  fs::remove(stateFile(kKeyB));
  fs::create_symlink(root_ + "/elsewhere", stateFile(kKeyB));
  EXPECT_FALSE(SeqStateFile::open(dir_, 0x1001, Bytes(kKeyB)).isOk());
}

TEST_F(SeqStateTest, MissingParentOrUnsafeDirectoryRefusesToStart) {
  auto r = SeqStateFile::open(root_ + "/no/such/dir", 0x1001, Bytes(kKeyA));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("cannot create"), std::string::npos);
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);  // anyone could delete the state
  r = SeqStateFile::open(dir_, 0x1001, Bytes(kKeyA));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("only its owner can write"), std::string::npos);
  // A file where the directory should be.
  std::ofstream(root_ + "/file") << "x";
  EXPECT_FALSE(SeqStateFile::open(root_ + "/file", 0x1001, Bytes(kKeyA)).isOk());
}

TEST_F(SeqStateTest, UnwritableDirectoryFailsTheReservation) {
  auto s = open(kKeyA);
  ASSERT_NE(s, nullptr);
  // Root ignores directory modes; a full file system gives the same error path. Replace the
  // temp file's name by a directory so that writing it fails for any user.
  ASSERT_EQ(::mkdir((stateFile(kKeyA) + ".tmp").c_str(), 0700), 0);
  Status st = s->reserve(1024);
  EXPECT_FALSE(st.isOk());
  EXPECT_EQ(s->reserved(), 0u);  // nothing may be sealed beyond the old mark
}

TEST_F(SeqStateTest, OneProcessPerKey) {
  auto first = open(kKeyA);
  ASSERT_NE(first, nullptr);
  auto second = SeqStateFile::open(dir_, 0x2002, Bytes(kKeyA));
  ASSERT_FALSE(second.isOk());
  EXPECT_NE(second.status().message().find("locked"), std::string::npos);
  EXPECT_TRUE(SeqStateFile::open(dir_, 0x2002, Bytes(kKeyB)).isOk());  // another key is fine
  first.reset();
  EXPECT_TRUE(SeqStateFile::open(dir_, 0x2002, Bytes(kKeyA)).isOk());
}

}  // namespace
}  // namespace braid::edge
