// Published ESP vectors: open() of the published packet yields the plaintext, and seal()
// with the same SPI, sequence number and IV reproduces the published bytes.
//  - draft-mcgrew-gcm-test-01 section 4: AES-GCM ESP packets, 32-bit and 64-bit (ESN)
//    sequence numbers (its one 192-bit-key case is left out: braid has no AES-192).
//  - RFC 7634 appendix A: ChaCha20-Poly1305 ESP example.
#include <gtest/gtest.h>

#include "esp_test_support.hpp"

namespace braid::ipsec {
namespace {

using testing_support::contents;
using testing_support::hex;

struct EspVector {
  const char* name;
  EspCipher cipher;
  const char* key;    // cipher key without salt
  const char* nonce;  // salt (4) || explicit IV (8)
  uint32_t spi;
  uint64_t seq;
  bool esn;               // the vector authenticates a 64-bit sequence number
  const char* plaintext;  // inner packet || padding || pad length || next header
  const char* sealed;     // ciphertext || ICV
};

const EspVector kVectors[] = {
    {"gcm128_esn_87654321_00000000", EspCipher::kAesGcm16_128, "4c80cdefbb5d10da906ac73c3613a634",
     "2e443b684956ed7e3b244cfe", 0x00004321, 0x8765432100000000, true,
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
     "00000000045f736970045f756470037369700963796265726369747902646b00"
     "0021000101020201",
     "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
     "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
     "61bc17d768fd9732459018148f6cbe722fd04796562dfdb4"},
    {"gcm128_seq_0a", EspCipher::kAesGcm16_128, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", 0x0000a5f8, 0x0a, false,
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
     "0001000000000000037369700963796265726369747902646b00000100010001",
     "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
     "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1"
     "83b70d3aa8bc6ee4c309e9d85a41ad4a"},
    {"gcm256_seq_02", EspCipher::kAesGcm16_256,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "112233440102030405060708",
     0x4a2cbfe3, 0x02, false,
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
     "7002400020bf0000020405b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
     "748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c49"
     "15956c96"},
    {"gcm128_zero_key_seq_01", EspCipher::kAesGcm16_128, "00000000000000000000000000000000",
     "000000000000000000000000", 0x00000000, 0x01, false,
     "4500003c99c500008001cb7a40679318010101010800075c0200440061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
     "4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284"
     "456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3"
     "f821d496eeb096e98ad2b69e4799c71d"},
    {"gcm128_esn_10101010_10101010_icmp", EspCipher::kAesGcm16_128,
     "3de09874b388e6491988d0c3607eae1f", "57690e434e280000a2fca1a3", 0x42f67e3f, 0x1010101010101010,
     true,
     "4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
     "fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917"
     "65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a"
     "e0d731cc978ecafaeae88f00e80d6e48"},
    {"gcm128_esn_10101010_10101010_short", EspCipher::kAesGcm16_128,
     "3de09874b388e6491988d0c3607eae1f", "57690e434e280000a2fca1a3", 0x42f67e3f, 0x1010101010101010,
     true, "4500001c42a200008001441f406793b6e00000020a00f5ff01020201",
     "fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed369f071f"
     "35e034be95f112e4e7d05d35"},
    {"gcm128_esn_00000000_00000001", EspCipher::kAesGcm16_128, "abbccddef00112233445566778899aab",
     "decaf888cafedebaceface74", 0x00000100, 0x01, true,
     "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
     "00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
     "9b6266c04722b14923010101",
     "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
     "9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
     "6f2127b27db35724e7845d68651f57e65f354f75ff17015769623436"},
    {"gcm256_esn_156f3126_dd0db99b", EspCipher::kAesGcm16_256,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74616e640169766563",
     0x17405e67, 0x156f3126dd0db99b, true,
     "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602"
     "50101f646d540001",
     "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
     "f4d3a31ce673119e451626c2415771e3b7eebca614c89b35"},
    {"gcm128_esn_10101010_10101010_udp", EspCipher::kAesGcm16_128,
     "3de09874b388e6491988d0c3607eae1f", "57690e434e280000a2fca1a3", 0x42f67e3f, 0x1010101010101010,
     true,
     "45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b"
     "000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b32"
     "5ae270c03899493915010101",
     "fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d541828"
     "00cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39"
     "ab533163aad4550ee5160975cdb608c5769189609763b8e18caa81e2"},
    {"gcm256_esn_156f3126_dd0db99b_text", EspCipher::kAesGcm16_256,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74616e640169766563",
     0x17405e67, 0x156f3126dd0db99b, true,
     "636973636f0172756c657301746865016e6574776501646566696e6501746865"
     "746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f"
     "72726f7701020201",
     "d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18"
     "d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b0"
     "12a49363412364f8c0cac587f249e56b11e24f30e44ccc76"},
    {"gcm128_seq_ffffffff_empty", EspCipher::kAesGcm16_128, "7d773d00c144c525ac619d18c84a3f47",
     "d966426743457e9182443bc6", 0x335467ae, 0xffffffff, false, "01020201",
     "437f866bcb3f699fe9b0822bac961c4504bef270"},
    {"gcm128_esn_00000000_00000001_text", EspCipher::kAesGcm16_128,
     "abbccddef00112233445566778899aab", "decaf888cafedebaceface74", 0x00000100, 0x01, true,
     "746f016265016f72016e6f7401746f0162650001",
     "29c9fc69a197d038ccdd14e2ddfcaa0543332164412503524303ed3c6c5f283843af8c3e"},
    {"gcm256_esn_ffffffff_ffffffff", EspCipher::kAesGcm16_256,
     "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961", "7475726e333021696765746d",
     0x796b6963, 0xffffffffffffffff, true,
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
     "65666768696a6b6c6d6e6f707172737401020201",
     "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
     "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32"
     "9fb4c053"},
    // RFC 7634 appendix A: SPI 0x01020304, sequence 5, IV 0x1011121314151617.
    {"rfc7634_chacha20poly1305", EspCipher::kChaCha20Poly1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "a0a1a2a31011121314151617",
     0x01020304, 0x05, false,
     "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
     "0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
     "2425262728292a2b2c2d2e2f303132333435363701020204",
     "24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
     "14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
     "cbec163fac469b502773f6fb94e664da9165b82829f641e076aaa8266b7fb0f7"
     "b11b369907e1ad43"},
};

class EspVectorTest : public ::testing::TestWithParam<EspVector> {
 protected:
  EspSaConfig config() const {
    const EspVector& v = GetParam();
    EspSaConfig c;
    c.spi = v.spi;
    c.cipher = v.cipher;
    auto key = hex(v.key);
    auto nonce = hex(v.nonce);
    key.insert(key.end(), nonce.begin(), nonce.begin() + 4);  // keymat = key || salt
    c.keymat = SecretBytes(Bytes(key));
    c.esn = v.esn;
    return c;
  }
  uint64_t iv() const { return loadBe64(hex(GetParam().nonce).data() + 4); }
  // SPI || low 32 bits of seq || IV || ciphertext || ICV
  std::vector<uint8_t> packet() const {
    const EspVector& v = GetParam();
    std::vector<uint8_t> p(16);
    storeBe32(p.data(), v.spi);
    storeBe32(p.data() + 4, static_cast<uint32_t>(v.seq));
    storeBe64(p.data() + 8, iv());
    auto sealed = hex(v.sealed);
    p.insert(p.end(), sealed.begin(), sealed.end());
    return p;
  }

  PacketPool pool_{2, 512, 64};
};

TEST_P(EspVectorTest, VectorIsWellFormed) {
  const EspVector& v = GetParam();
  auto pt = hex(v.plaintext);
  ASSERT_GE(pt.size(), 4u);
  EXPECT_EQ(hex(v.sealed).size(), pt.size() + kEspIcvLength);
  EXPECT_EQ(hex(v.nonce).size(), 12u);
  EXPECT_EQ(hex(v.key).size(), espKeymatLength(v.cipher) - 4);
}

TEST_P(EspVectorTest, OpenYieldsPublishedPlaintext) {
  const EspVector& v = GetParam();
  auto sa = testing_support::makeIn(config());
  ASSERT_NE(sa, nullptr);
  // The window continues just below the vector's number, so the ESN high half is inferred.
  EspTestAccess::primeReplayWindow(*sa, v.seq - 1);
  auto pkt = pool_.acquire();
  ASSERT_TRUE(pkt->assign(packet()));
  uint8_t nh = 0;
  auto drop = sa->open(*pkt, nh);
  ASSERT_FALSE(drop.has_value()) << espDropName(*drop);
  auto pt = hex(v.plaintext);
  const size_t padLen = pt[pt.size() - 2];
  EXPECT_EQ(nh, pt.back());
  EXPECT_EQ(contents(*pkt), std::vector<uint8_t>(pt.begin(), pt.end() - 2 - padLen));
  EXPECT_EQ(sa->counters().packetsOpened, 1u);

  // The same packet again is a replay.
  ASSERT_TRUE(pkt->assign(packet()));
  EXPECT_EQ(sa->open(*pkt, nh), EspDrop::kReplay);
}

TEST_P(EspVectorTest, SealReproducesPublishedPacket) {
  const EspVector& v = GetParam();
  auto sa = testing_support::makeOut(config());
  ASSERT_NE(sa, nullptr);
  sa->setLastSequence(v.seq - 1);
  EspTestAccess::setNextExplicitIv(*sa, iv());
  auto pt = hex(v.plaintext);
  const size_t padLen = pt[pt.size() - 2];
  auto pkt = pool_.acquire();
  ASSERT_TRUE(pkt->assign(Bytes(pt).first(pt.size() - 2 - padLen)));
  ASSERT_EQ(sa->seal(*pkt, pt.back()), SealStatus::kOk);
  EXPECT_EQ(toHex(pkt->span()), toHex(packet()));
  EXPECT_EQ(sa->lastSequence(), v.seq);
}

TEST_P(EspVectorTest, ReferenceSealerAgrees) {
  // Checks the test's own reference sealer, which the padding tests rely on.
  const EspVector& v = GetParam();
  EspSaConfig c = config();
  auto out = testing_support::referenceSeal(v.cipher, c.keymat.bytes(), v.spi, v.seq, v.esn, iv(),
                                            hex(v.plaintext));
  EXPECT_EQ(toHex(out), toHex(packet()));
}

INSTANTIATE_TEST_SUITE_P(Published, EspVectorTest, ::testing::ValuesIn(kVectors),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace braid::ipsec
