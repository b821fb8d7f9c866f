// ESP microbenchmarks: seal and open per packet size and cipher, the same AEAD calls on a
// bare buffer (raw/...: what the ESP framing costs on top), and the replay window.
// Figures and their ratios to `openssl speed` are kept in docs/performance.md.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/packet_buffer.hpp"
#include "ipsec/esp.hpp"
#include "ipsec/replay_window.hpp"

namespace {

using namespace braid;
using namespace braid::ipsec;

constexpr EspCipher kCiphers[] = {EspCipher::kAesGcm16_128, EspCipher::kAesGcm16_256,
                                  EspCipher::kChaCha20Poly1305};
constexpr size_t kSizes[] = {64, 512, 1400, 8000};
constexpr size_t kSlab = 8192 + 256;
constexpr size_t kHeadroom = 64;

EspSaConfig benchConfig(EspCipher cipher) {
  EspSaConfig c;
  c.spi = 0xbe0c0001;
  c.cipher = cipher;
  SecretBytes k(espKeymatLength(cipher));
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(i * 11 + 3);
  c.keymat = std::move(k);
  c.esn = true;
  c.replayWindow = 1024;
  return c;
}

void fillInner(PacketBuffer& pkt, size_t size) {
  pkt.reset(kHeadroom);
  uint8_t* p = pkt.append(size);
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>(i);
}

void sealBench(benchmark::State& state, EspCipher cipher, size_t size) {
  auto sa = std::move(EspOutboundSa::create(benchConfig(cipher))).value();
  PacketPool pool(1, kSlab, kHeadroom);
  auto pkt = pool.acquire();
  fillInner(*pkt, size);
  for (auto _ : state) {
    // Back to the inner packet's place; its bytes are whatever the last seal left there.
    pkt->reset(kHeadroom);
    (void)pkt->commit(size);
    if (sa->seal(*pkt, kNextHeaderIpv4) != SealStatus::kOk) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(pkt->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Open decrypts in place and the window refuses replays, so each iteration copies one of
// kRing pre-sealed packets into the receive buffer (as recvmmsg would have written it) and
// a fresh inbound SA is keyed every kRing packets; both costs are included.
void openBench(benchmark::State& state, EspCipher cipher, size_t size) {
  constexpr size_t kRing = 256;
  const EspSaConfig config = benchConfig(cipher);
  auto out = std::move(EspOutboundSa::create(config)).value();
  PacketPool pool(1, kSlab, kHeadroom);
  auto pkt = pool.acquire();
  std::vector<std::vector<uint8_t>> sealed;
  for (size_t i = 0; i < kRing; ++i) {
    fillInner(*pkt, size);
    (void)out->seal(*pkt, kNextHeaderIpv4);
    sealed.emplace_back(pkt->data(), pkt->data() + pkt->size());
  }
  auto in = std::move(EspInboundSa::create(config)).value();
  size_t next = 0;
  uint8_t nh = 0;
  for (auto _ : state) {
    if (next == kRing) {
      in = std::move(EspInboundSa::create(config)).value();
      next = 0;
    }
    const auto& wire = sealed[next++];
    pkt->reset(kHeadroom);
    std::memcpy(pkt->append(wire.size()), wire.data(), wire.size());
    if (in->open(*pkt, nh).has_value()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(pkt->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// The AEAD calls seal() makes, on a bare buffer of the same ciphertext length (inner packet
// plus ESP trailer): keyed context, nonce, AAD, in-place update, final, tag. Bytes are
// counted as for seal (inner bytes), so seal/raw is the cost of the ESP framing.
void rawAeadBench(benchmark::State& state, EspCipher cipher, size_t size) {
  const EVP_CIPHER* evp = cipher == EspCipher::kAesGcm16_128   ? EVP_aes_128_gcm()
                          : cipher == EspCipher::kAesGcm16_256 ? EVP_aes_256_gcm()
                                                               : EVP_chacha20_poly1305();
  const size_t ctLen = size + (4 - (size + 2) % 4) % 4 + 2;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  uint8_t key[32] = {1, 2, 3};
  uint8_t nonce[12] = {};
  uint8_t aad[12] = {};
  uint8_t tag[16];
  std::vector<uint8_t> buf(ctLen, 0x5a);
  EVP_EncryptInit_ex(ctx, evp, nullptr, key, nullptr);
  uint64_t seq = 0;
  int len = 0;
  for (auto _ : state) {
    ++seq;
    std::memcpy(nonce + 4, &seq, sizeof seq);
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce);
    EVP_EncryptUpdate(ctx, nullptr, &len, aad, 8);
    EVP_EncryptUpdate(ctx, buf.data(), &len, buf.data(), static_cast<int>(ctLen));
    EVP_EncryptFinal_ex(ctx, buf.data() + len, &len);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
                           OSSL_PARAM_construct_end()};
    EVP_CIPHER_CTX_get_params(ctx, params);
    benchmark::DoNotOptimize(tag);
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// What open() does with the window: check, then update.
void replayInOrderBench(benchmark::State& state) {
  ReplayWindow w(static_cast<uint32_t>(state.range(0)));
  uint64_t seq = 0;
  for (auto _ : state) {
    ++seq;
    bool ok = w.check(seq) && w.update(seq);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Every number once, shuffled within chunks of half the window: all accepted, arriving out
// of order anywhere in the window.
void replayReorderedBench(benchmark::State& state) {
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  ReplayWindow w(size);
  constexpr size_t kStream = 1 << 16;
  std::vector<uint64_t> stream(kStream);
  std::iota(stream.begin(), stream.end(), 1);
  std::mt19937_64 rng(42);
  const size_t chunk = std::max<size_t>(size / 2, 2);
  for (size_t i = 0; i < kStream; i += chunk) {
    std::shuffle(stream.begin() + i, stream.begin() + std::min(kStream, i + chunk), rng);
  }
  size_t i = 0;
  uint64_t base = 0;
  int64_t refused = 0;
  for (auto _ : state) {
    const uint64_t seq = base + stream[i];
    if (++i == kStream) {
      i = 0;
      base += kStream;
    }
    bool ok = w.check(seq) && w.update(seq);
    refused += ok ? 0 : 1;
  }
  if (refused != 0) state.SkipWithError("a fresh number was refused");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

}  // namespace

int main(int argc, char** argv) {
  for (EspCipher c : kCiphers) {
    const std::string name(espCipherName(c));
    for (size_t size : kSizes) {
      const std::string suffix = "/" + name + "/" + std::to_string(size);
      benchmark::RegisterBenchmark(("seal" + suffix).c_str(), sealBench, c, size);
      benchmark::RegisterBenchmark(("open" + suffix).c_str(), openBench, c, size);
      benchmark::RegisterBenchmark(("raw" + suffix).c_str(), rawAeadBench, c, size);
    }
  }
  benchmark::RegisterBenchmark("replay/in_order", replayInOrderBench)
      ->Arg(64)
      ->Arg(1024)
      ->Arg(4096);
  benchmark::RegisterBenchmark("replay/reordered", replayReorderedBench)
      ->Arg(64)
      ->Arg(1024)
      ->Arg(4096);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
