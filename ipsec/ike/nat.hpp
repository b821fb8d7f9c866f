// NAT detection (RFC 7296 2.23): SHA-1(SPIi | SPIr | IP address | port).
#pragma once

#include "ipsec/ike/config.hpp"
#include "ipsec/ike/payload.hpp"

namespace braid::ike {

ByteVec natDetectionHash(uint64_t spiI, uint64_t spiR, const Endpoint& endpoint);

}  // namespace braid::ike
