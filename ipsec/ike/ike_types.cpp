#include "ipsec/ike/ike_types.hpp"

namespace braid::ike {

std::string_view exchangeName(ExchangeType t) {
  switch (t) {
    case ExchangeType::kIkeSaInit:
      return "IKE_SA_INIT";
    case ExchangeType::kIkeAuth:
      return "IKE_AUTH";
    case ExchangeType::kCreateChildSa:
      return "CREATE_CHILD_SA";
    case ExchangeType::kInformational:
      return "INFORMATIONAL";
  }
  return "UNKNOWN_EXCHANGE";
}

std::string_view payloadName(PayloadType t) {
  switch (t) {
    case PayloadType::kNone:
      return "NONE";
    case PayloadType::kSa:
      return "SA";
    case PayloadType::kKe:
      return "KE";
    case PayloadType::kIdi:
      return "IDi";
    case PayloadType::kIdr:
      return "IDr";
    case PayloadType::kCert:
      return "CERT";
    case PayloadType::kCertReq:
      return "CERTREQ";
    case PayloadType::kAuth:
      return "AUTH";
    case PayloadType::kNonce:
      return "No";
    case PayloadType::kNotify:
      return "N";
    case PayloadType::kDelete:
      return "D";
    case PayloadType::kVendorId:
      return "V";
    case PayloadType::kTsi:
      return "TSi";
    case PayloadType::kTsr:
      return "TSr";
    case PayloadType::kSk:
      return "SK";
    case PayloadType::kCp:
      return "CP";
    case PayloadType::kEap:
      return "EAP";
    case PayloadType::kSkf:
      return "SKF";
  }
  return "UNKNOWN";
}

std::string notifyName(uint16_t type) {
  using namespace notify;
  switch (type) {
    case kUnsupportedCriticalPayload:
      return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case kInvalidIkeSpi:
      return "INVALID_IKE_SPI";
    case kInvalidMajorVersion:
      return "INVALID_MAJOR_VERSION";
    case kInvalidSyntax:
      return "INVALID_SYNTAX";
    case kInvalidMessageId:
      return "INVALID_MESSAGE_ID";
    case kInvalidSpi:
      return "INVALID_SPI";
    case kNoProposalChosen:
      return "NO_PROPOSAL_CHOSEN";
    case kInvalidKePayload:
      return "INVALID_KE_PAYLOAD";
    case kAuthenticationFailed:
      return "AUTHENTICATION_FAILED";
    case kSinglePairRequired:
      return "SINGLE_PAIR_REQUIRED";
    case kNoAdditionalSas:
      return "NO_ADDITIONAL_SAS";
    case kInternalAddressFailure:
      return "INTERNAL_ADDRESS_FAILURE";
    case kFailedCpRequired:
      return "FAILED_CP_REQUIRED";
    case kTsUnacceptable:
      return "TS_UNACCEPTABLE";
    case kInvalidSelectors:
      return "INVALID_SELECTORS";
    case kTemporaryFailure:
      return "TEMPORARY_FAILURE";
    case kChildSaNotFound:
      return "CHILD_SA_NOT_FOUND";
    case kInitialContact:
      return "INITIAL_CONTACT";
    case kSetWindowSize:
      return "SET_WINDOW_SIZE";
    case kAdditionalTsPossible:
      return "ADDITIONAL_TS_POSSIBLE";
    case kIpcompSupported:
      return "IPCOMP_SUPPORTED";
    case kNatDetectionSourceIp:
      return "NAT_DETECTION_SOURCE_IP";
    case kNatDetectionDestinationIp:
      return "NAT_DETECTION_DESTINATION_IP";
    case kCookie:
      return "COOKIE";
    case kUseTransportMode:
      return "USE_TRANSPORT_MODE";
    case kHttpCertLookupSupported:
      return "HTTP_CERT_LOOKUP_SUPPORTED";
    case kRekeySa:
      return "REKEY_SA";
    case kEspTfcPaddingNotSupported:
      return "ESP_TFC_PADDING_NOT_SUPPORTED";
    case kNonFirstFragmentsAlso:
      return "NON_FIRST_FRAGMENTS_ALSO";
    case kMobikeSupported:
      return "MOBIKE_SUPPORTED";
    case kUpdateSaAddresses:
      return "UPDATE_SA_ADDRESSES";
    case kCookie2:
      return "COOKIE2";
    case kNoNatsAllowed:
      return "NO_NATS_ALLOWED";
    case kUnexpectedNatDetected:
      return "UNEXPECTED_NAT_DETECTED";
    case kIkev2FragmentationSupported:
      return "IKEV2_FRAGMENTATION_SUPPORTED";
    case kSignatureHashAlgorithms:
      return "SIGNATURE_HASH_ALGORITHMS";
    case kBraidShimSupported:
      return "BRAID_SHIM_SUPPORTED";
  }
  return "NOTIFY_" + std::to_string(type);
}

}  // namespace braid::ike
