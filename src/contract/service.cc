#include "contract/service.h"

#include <algorithm>
#include <cstdlib>

#include "base/thread_name.h"
#include "contract/offer_check.h"

namespace kexin::contract {

namespace {
// Hard deadline of one outbox delivery (connect, TLS, request and answer; docs/contract.md#outbox).
constexpr std::chrono::milliseconds kDeliveryDeadline = std::chrono::seconds(10);
}  // namespace

EngineConfig NodeEngineConfig(server::NodeContext& ctx) {
  EngineConfig c;
  server::StorePool* pool = ctx.stores;
  c.store = [pool]() -> Result<store::Store*> {
    if (!pool) return FailedPrecondition("the node has no store");
    return pool->ForThisThread();
  };
  c.ledger = ctx.ledger;
  c.key = ctx.key;
  c.public_key = ctx.public_key;
  c.public_url = ctx.public_url;
  while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
  server::PeerClient* client = ctx.client;
  if (client) {
    c.transport = [client](const std::string& url,
                           const std::string& body) -> Result<TransportReply> {
      // The receiver answers a repeated message as it did the first time (docs/contract.md),
      // so a request lost with a stale connection may be sent again.
      KEXIN_ASSIGN_OR_RETURN(auto r, client->Send("POST", url, body, kDeliveryDeadline,
                                                  /*repeatable=*/true));
      TransportReply reply{r.status, std::move(r.body)};
      for (const auto& [name, value] : r.headers) {
        // delay-seconds only (RFC 9110 section 10.2.3); an HTTP-date is ignored.
        if (name != "retry-after" || value.empty() || value.size() > 9 ||
            value.find_first_not_of("0123456789") != std::string::npos)
          continue;
        reply.retry_after_ms = std::stoll(value) * 1000;
      }
      return reply;
    };
  }
  if (pool) {
    std::string url = pool->url();
    c.open_store = [url]() { return store::Store::Open(url); };
  }
  c.max_open_per_peer = ctx.max_negotiations_per_peer;
  c.check_offer = CatalogOfferChecker();
  c.policies_match = SemanticPolicyMatcher();
  return c;
}

ContractService::ContractService(server::NodeContext& ctx, ServiceOptions options)
    : ctx_(ctx), options_(options) {
  if (const char* w = std::getenv("KEXIN_CONTRACT_WORKERS")) {
    int n = std::atoi(w);
    if (n > 0 && n <= 256) options_.workers = n;
  }
  if (const char* p = std::getenv("KEXIN_CONTRACT_PER_PEER")) {
    int n = std::atoi(p);
    if (n > 0 && n <= 256) options_.per_peer = n;
  }
  if (options_.per_peer <= 0) options_.per_peer = std::max(1, options_.workers / 2);
  EngineConfig c = NodeEngineConfig(ctx);
  c.max_inflight_per_peer = options_.per_peer;
  // While nothing is due, idle workers look for items due in the store (retries back off 200 ms
  // and more, CLI decisions are polled every poll_ms) at most every 50 ms between them, not each
  // on every pass.
  c.store_poll_ms = 50;
  c.notify = [this] { Wake(); };
  engine_ = std::make_unique<Engine>(std::move(c));
}

ContractService::~ContractService() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  // The outbox workers first; then what they handed to the writer without waiting
  // (acknowledgements) is committed, and the recorder records the events of all of it before it
  // stops. The engine goes last, with nothing left to call back into this service.
  for (size_t i = 1; i < threads_.size(); ++i) threads_[i].join();
  engine_->Flush().IgnoreError();
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorder_stop_ = true;
  }
  engine_->StopRecording();
  record_cv_.notify_all();
  if (!threads_.empty()) threads_[0].join();
  engine_.reset();
}

void ContractService::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!threads_.empty() || !ctx_.client || !ctx_.stores || !ctx_.ledger) return;
  // Events a previous run claimed but did not record are recorded again (docs/contract.md#ledger).
  if (auto s = ctx_.stores->ForThisThread(); s.ok()) ReleaseClaimedEvents(**s).IgnoreError();
  engine_->RecordInBackground();
  threads_.emplace_back([this] {
    NameThisThread("kexin-recorder");
    RecordLoop();
  });
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this, i] {
      NameThisThread("kexin-outbox");
      Loop(i);
    });
  }
}

void ContractService::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_one();
}

void ContractService::RecordLoop() {
  while (true) {
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = recorder_stop_;
    }
    // Stopping: the events queued until now (the destructor flushed the writer first), once.
    auto n = engine_->RecordPending(std::chrono::milliseconds(stopping ? 0 : options_.poll_ms));
    if (stopping) return;
    // Let events gather: one ledger commit and one index update for many of them keeps the
    // store's single writer free for the negotiations themselves.
    if (n.ok() && *n > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      record_cv_.wait_for(lock, std::chrono::milliseconds(options_.record_every_ms),
                          [&] { return recorder_stop_; });
    }
  }
}

void ContractService::Loop(int worker) {
  auto last_sweep = std::chrono::steady_clock::now() - std::chrono::hours(1);
  uint64_t seen = 0;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      seen = wakes_;
    }
    if (worker == 0 && std::chrono::steady_clock::now() - last_sweep > std::chrono::seconds(1)) {
      engine_->RecordAllEvents().IgnoreError();
      last_sweep = std::chrono::steady_clock::now();
    }
    auto n = engine_->DeliverDue(static_cast<size_t>(options_.batch));
    if (n.ok() && *n > 0) continue;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                 [&] { return stop_ || wakes_ != seen; });
  }
}

}  // namespace kexin::contract
