// Module `contract` (offer check part): the provider's checks of a requested offer against its
// catalog, and the consumer's semantic comparison of an agreement with what it asked for.
//
// CatalogOfferChecker: the offer must exist (404 unknown_offer), not be withdrawn (410
// offer_withdrawn), be an offer of the requested dataset (422 target_mismatch), carry terms
// policy::Equivalent to the offer's (422 policy_mismatch, naming the first difference), and be in
// force now (422 offer_expired when its validity window has passed or not begun; 403 not_permitted
// when another constraint excludes this consumer). Docs: docs/contract.md#offer-checks.
// Thread-safety: the returned functions are thread-safe.
#ifndef KEXIN_CONTRACT_OFFER_CHECK_H_
#define KEXIN_CONTRACT_OFFER_CHECK_H_

#include "contract/engine.h"

namespace kexin::contract {

OfferChecker CatalogOfferChecker();
// OK when both policies parse and are policy::Equivalent; otherwise names the first difference.
PolicyMatcher SemanticPolicyMatcher();

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_OFFER_CHECK_H_
