#include "edge/tun_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace braid::edge {

TunDevice& TunDevice::operator=(TunDevice&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    name_ = std::move(o.name_);
    vnetHdr_ = o.vnetHdr_;
    tso_ = o.tso_;
    o.fd_ = -1;
  }
  return *this;
}

TunDevice::~TunDevice() {
  if (fd_ >= 0) ::close(fd_);
}

Result<TunDevice> TunDevice::open(const std::string& name, bool vnetHdr) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return errorStatus(ErrorCode::kIoError,
                       std::string("open /dev/net/tun: ") + std::strerror(errno));
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnetHdr ? IFF_VNET_HDR : 0);
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    ::close(fd);
    return errorStatus(ErrorCode::kIoError,
                       "TUNSETIFF " + name + ": " + std::string(std::strerror(e)));
  }
  TunDevice dev;
  dev.fd_ = fd;
  dev.name_ = ifr.ifr_name;
  dev.vnetHdr_ = vnetHdr;
  if (vnetHdr) {
    int size = static_cast<int>(kVirtioNetHdrLen);
    if (::ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) {
      return errorStatus(ErrorCode::kIoError,
                         std::string("TUNSETVNETHDRSZ: ") + std::strerror(errno));
    }
  }
  return dev;
}

bool TunDevice::enableTsoOffload() {
  if (!vnetHdr_) return false;
  unsigned flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  tso_ = ::ioctl(fd_, TUNSETOFFLOAD, flags) == 0;
  return tso_;
}

}  // namespace braid::edge
