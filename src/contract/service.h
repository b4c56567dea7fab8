// Module `contract` (service part): the negotiation engine of a running node and its outbox
// workers.
//
// ContractService wires an Engine to the node (its stores, ledger, key, public URL and signed
// PeerClient) and runs worker threads that deliver the outbox: they wake when the engine enqueues
// and otherwise poll, so decisions taken by `kexin contract approve|reject` in another process are
// sent within a poll interval. Workers also record on the ledger any negotiation events another
// process stored (docs/contract.md#outbox).
// Thread-safety: all methods are thread-safe; the destructor stops and joins the workers.
#ifndef KEXIN_CONTRACT_SERVICE_H_
#define KEXIN_CONTRACT_SERVICE_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "contract/engine.h"
#include "server/node.h"

namespace kexin::contract {

struct ServiceOptions {
  int workers = 8;  // KEXIN_CONTRACT_WORKERS overrides
  // Deliveries in flight to one peer; 0 = half the workers (at least 1), so a peer that never
  // answers holds at most that many workers (KEXIN_CONTRACT_PER_PEER overrides).
  int per_peer = 0;
  int batch = 4;              // outbox items a worker leases at a time
  int poll_ms = 200;          // idle poll interval
  int record_every_ms = 100;  // the recorder's pause between ledger batches
};

class ContractService {
 public:
  ContractService(server::NodeContext& ctx, ServiceOptions options);
  ~ContractService();
  ContractService(const ContractService&) = delete;
  ContractService& operator=(const ContractService&) = delete;

  // Starts the workers (once); needs ctx.client, ctx.stores and ctx.ledger.
  void Start();
  Engine& engine() { return *engine_; }
  server::NodeContext& context() { return ctx_; }

 private:
  void Loop(int worker);
  void RecordLoop();
  void Wake();

  server::NodeContext& ctx_;
  ServiceOptions options_;
  std::unique_ptr<Engine> engine_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable record_cv_;
  bool stop_ = false;           // the outbox workers stop
  bool recorder_stop_ = false;  // the recorder stops, after the writer was flushed
  uint64_t wakes_ = 0;
  std::vector<std::thread> threads_;
};

// The EngineConfig of a node: store per thread, ledger, key, transport through ctx.client, the
// catalog offer checker and the semantic policy matcher.
EngineConfig NodeEngineConfig(server::NodeContext& ctx);

}  // namespace kexin::contract

#endif  // KEXIN_CONTRACT_SERVICE_H_
