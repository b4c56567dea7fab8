// Module `store` (SQLite VFS): "kexin-wal", a VFS over the platform's default one that writes a
// transaction's WAL frames with one pwrite instead of two per frame.
//
// SQLite writes each WAL frame as a 24-byte header and a page, two system calls; on the 2-core
// virtual machines kexin is measured on, a pair costs about 7.6 us against 0.9 us per frame when
// the frames of a commit go in one call (docs/node-home.md#sqlite-files). This VFS keeps a WAL
// file's contiguous appends in memory and writes them at once before anything can depend on them:
// before the file is synced, read, truncated, sized, controlled or closed, before a write that is
// not contiguous, when 64 KiB have gathered, before a connection publishes a new WAL-index header
// (xShmBarrier on the database file, which SQLite calls between writing the frames and making them
// visible) and before it releases a WAL lock (so the frames of a transaction that rolled back can
// never land later over the next writer's). No reader, in this process or another, can see a frame
// that is not in the file, and a COMMIT is durable when it returns exactly as without the VFS.
// A failed write is returned by the call that flushed it, or else by the WAL file's next call.
// With synchronous=FULL the commit's frames are written by its sync, so a failure fails the
// COMMIT; with a lower setting a failure at publication could not be reported, so kexin keeps
// every connection at FULL (sqlite_store.cc).
//
// Only files SQLite opens as WAL files are buffered; the database file and everything else pass
// straight through.
#ifndef KEXIN_STORE_SQLITE_VFS_H_
#define KEXIN_STORE_SQLITE_VFS_H_

namespace kexin::store {

// Registers the VFS once (thread-safe) and returns its name for sqlite3_open_v2, or nullptr if it
// could not be registered (then the default VFS is used).
const char* BatchedWalVfs();

}  // namespace kexin::store

#endif  // KEXIN_STORE_SQLITE_VFS_H_
