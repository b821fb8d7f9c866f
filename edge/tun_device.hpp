// The overlay TUN device (Documentation/networking/tuntap.rst). With offloads on it is
// opened with IFF_VNET_HDR: every read and write carries a 10-byte virtio_net_hdr, and
// TUNSETOFFLOAD lets the kernel hand us TSO super-packets and checksum-less packets.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace braid::edge {

// struct virtio_net_hdr (include/uapi/linux/virtio_net.h), host byte order on TUN.
struct VirtioNetHdr {
  uint8_t flags;
  uint8_t gsoType;
  uint16_t hdrLen;
  uint16_t gsoSize;
  uint16_t csumStart;
  uint16_t csumOffset;
};
static_assert(sizeof(VirtioNetHdr) == 10);
inline constexpr size_t kVirtioNetHdrLen = sizeof(VirtioNetHdr);
inline constexpr uint8_t kVirtioFlagNeedsCsum = 1;
inline constexpr uint8_t kVirtioGsoNone = 0;
inline constexpr uint8_t kVirtioGsoTcpv4 = 1;
inline constexpr uint8_t kVirtioGsoUdp = 3;
inline constexpr uint8_t kVirtioGsoTcpv6 = 4;
inline constexpr uint8_t kVirtioGsoUdpL4 = 5;
inline constexpr uint8_t kVirtioGsoEcn = 0x80;

class TunDevice {
 public:
  TunDevice() = default;
  TunDevice(TunDevice&& o) noexcept { *this = std::move(o); }
  TunDevice& operator=(TunDevice&& o) noexcept;
  ~TunDevice();

  // Creates (or attaches to) the TUN device `name`, non-blocking, IFF_TUN|IFF_NO_PI, and
  // IFF_VNET_HDR when `vnetHdr`. The device disappears when the descriptor is closed.
  static Result<TunDevice> open(const std::string& name, bool vnetHdr);

  // TUNSETOFFLOAD with TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6; false if the kernel refuses.
  bool enableTsoOffload();

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  bool vnetHdr() const { return vnetHdr_; }
  bool tso() const { return tso_; }

 private:
  int fd_ = -1;
  std::string name_;
  bool vnetHdr_ = false;
  bool tso_ = false;
};

}  // namespace braid::edge
