// Factories for the task types (task_*.cpp). Initiator tasks are built with what they
// should do; responder tasks are created by the TaskManager from the request's exchange.
#pragma once

#include <cstdint>
#include <memory>

#include "ipsec/ike/config.hpp"
#include "ipsec/ike/task.hpp"

namespace braid::ike {

std::unique_ptr<Task> makeIkeInitTask(IkeSa& sa);
// IKE_AUTH, including the first Child SA of the peer config (if it has one).
std::unique_ptr<Task> makeIkeAuthTask(IkeSa& sa);
// CREATE_CHILD_SA for an additional Child SA; `child` is null for a responder task.
std::unique_ptr<Task> makeChildCreateTask(IkeSa& sa, const ChildConfig* child);
// CREATE_CHILD_SA with N(REKEY_SA) for the Child SA with inbound SPI `spiIn` (RFC 7296
// 1.3.3); the responder side is the CREATE_CHILD_SA responder task.
std::unique_ptr<Task> makeChildRekeyTask(IkeSa& sa, uint32_t spiIn);
// IKE SA rekey (RFC 7296 1.3.2), both roles: the responder task is made for a CREATE_CHILD_SA
// request whose SA payload proposes protocol IKE.
std::unique_ptr<Task> makeIkeRekeyTask(IkeSa& sa);
// INFORMATIONAL exchanges: Delete of Child SAs / of the IKE SA, or empty (liveness).
std::unique_ptr<Task> makeChildDeleteTask(IkeSa& sa, uint32_t spiIn);
// Delete for a Child SA the peer installed and we refused (not installed here): names our
// reserved inbound SPI `spiIn`, which the task frees when done (RFC 7296 2.9, 3.11).
std::unique_ptr<Task> makeRefusedChildDeleteTask(IkeSa& sa, uint32_t spiIn);
std::unique_ptr<Task> makeIkeDeleteTask(IkeSa& sa);
std::unique_ptr<Task> makeInformationalTask(IkeSa& sa);  // empty request, or any responder
// RFC 7296 2.21.2: tell the responder we rejected its AUTH; the IKE SA ends afterwards.
std::unique_ptr<Task> makeAuthFailedNotifyTask(IkeSa& sa);
// RFC 4555 3.5: INFORMATIONAL with UPDATE_SA_ADDRESSES from our current (new) address; the
// responder task also answers the rest of that INFORMATIONAL request (task_mobike.cpp).
std::unique_ptr<Task> makeMobikeTask(IkeSa& sa);
std::unique_ptr<Task> makeMobikeResponderTask(IkeSa& sa);

}  // namespace braid::ike
