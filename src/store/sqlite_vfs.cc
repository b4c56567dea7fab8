// The "kexin-wal" SQLite VFS (sqlite_vfs.h): WAL frames of a transaction written in one call.
#include "store/sqlite_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

namespace kexin::store {
namespace {

// SQLite's unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length to 17 bits, and
// a multiple of 128 KiB would write nothing: SQLITE_FULL), so gather at most 64 KiB: 15 frames of
// 4 KiB pages per call.
constexpr size_t kMaxBuffered = 64 * 1024;

sqlite3_vfs* g_real = nullptr;  // the default VFS this one wraps
sqlite3_vfs g_vfs;

// A file this VFS opened as a main database or a WAL file; `real` is the underlying VFS's file,
// stored right after this struct in the memory SQLite allocated (szOsFile).
struct KxFile {
  sqlite3_file base;
  sqlite3_file* real;
  std::string* path;     // the file's full path (WAL: ends in "-wal")
  std::string* wal_key;  // main database: its WAL's path, the key of g_pending
  std::string* buf;      // WAL only: bytes gathered for offset `buf_at` onwards
  sqlite3_int64 buf_at;
  int error;  // a flush by another call failed: reported by this file's next call
};

// Buffers of all WAL files, and which WAL file of each path has bytes buffered (at most one: one
// writer per WAL at a time). One mutex: WAL appends are short, and only a writer appends.
std::mutex g_mu;
std::unordered_map<std::string, KxFile*>* g_pending = nullptr;
std::atomic<int> g_pending_count{0};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<KxFile*>(f)->real; }

// Writes what `f` has gathered. Caller holds g_mu.
int FlushLocked(KxFile* f) {
  if (f->buf->empty()) return SQLITE_OK;
  int rc = f->real->pMethods->xWrite(f->real, f->buf->data(), static_cast<int>(f->buf->size()),
                                     f->buf_at);
  f->buf->clear();
  g_pending->erase(*f->path);
  g_pending_count.fetch_sub(1);
  if (rc != SQLITE_OK && f->error == SQLITE_OK) f->error = rc;
  return rc;
}

// The failure an earlier flush left on `f`, now reported (and cleared). Caller holds g_mu.
int TakeError(KxFile* f) {
  int rc = f->error;
  f->error = SQLITE_OK;
  return rc;
}

// Flushes a WAL file before an operation on it; returns a failure of this or an earlier flush.
int Settle(KxFile* f) {
  if (!f->buf) return SQLITE_OK;
  std::lock_guard<std::mutex> lock(g_mu);
  FlushLocked(f);
  return TakeError(f);
}

// --- WAL files -----------------------------------------------------------------------------------

int WalClose(sqlite3_file* p) {
  auto* f = reinterpret_cast<KxFile*>(p);
  int rc = Settle(f);
  int rc2 = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  delete f->buf;
  delete f->path;
  delete f->wal_key;
  return rc != SQLITE_OK ? rc : rc2;
}

int WalRead(sqlite3_file* p, void* out, int n, sqlite3_int64 at) {
  auto* f = reinterpret_cast<KxFile*>(p);
  int rc = Settle(f);
  if (rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, n, at);
}

int WalWrite(sqlite3_file* p, const void* data, int n, sqlite3_int64 at) {
  auto* f = reinterpret_cast<KxFile*>(p);
  if (!f->buf) return f->real->pMethods->xWrite(f->real, data, n, at);  // not buffered (Open)
  std::lock_guard<std::mutex> lock(g_mu);
  if (f->error != SQLITE_OK) return TakeError(f);
  if (!f->buf->empty() && (at != f->buf_at + static_cast<sqlite3_int64>(f->buf->size()) ||
                           f->buf->size() + static_cast<size_t>(n) > kMaxBuffered)) {
    if (FlushLocked(f) != SQLITE_OK) return TakeError(f);
  }
  if (f->buf->empty()) {
    // Another connection's leftovers for this WAL (there should be none: they are flushed before
    // its locks are released) go first, so they can never land over ours.
    auto other = g_pending->find(*f->path);
    if (other != g_pending->end() && other->second != f) FlushLocked(other->second);
    if (static_cast<size_t>(n) >= kMaxBuffered) {
      return f->real->pMethods->xWrite(f->real, data, n, at);
    }
    try {
      (*g_pending)[*f->path] = f;
    } catch (const std::bad_alloc&) {
      return f->real->pMethods->xWrite(f->real, data, n, at);
    }
    f->buf_at = at;
    g_pending_count.fetch_add(1);
  }
  f->buf->append(static_cast<const char*>(data), static_cast<size_t>(n));  // capacity reserved
  return SQLITE_OK;
}

int WalTruncate(sqlite3_file* p, sqlite3_int64 size) {
  int rc = Settle(reinterpret_cast<KxFile*>(p));
  if (rc != SQLITE_OK) return rc;
  return Real(p)->pMethods->xTruncate(Real(p), size);
}

int WalSync(sqlite3_file* p, int flags) {
  int rc = Settle(reinterpret_cast<KxFile*>(p));
  if (rc != SQLITE_OK) return rc;
  return Real(p)->pMethods->xSync(Real(p), flags);
}

int WalFileSize(sqlite3_file* p, sqlite3_int64* size) {
  int rc = Settle(reinterpret_cast<KxFile*>(p));
  if (rc != SQLITE_OK) return rc;
  return Real(p)->pMethods->xFileSize(Real(p), size);
}

int WalFileControl(sqlite3_file* p, int op, void* arg) {
  int rc = Settle(reinterpret_cast<KxFile*>(p));
  if (rc != SQLITE_OK) return rc;
  return Real(p)->pMethods->xFileControl(Real(p), op, arg);
}

// --- main database files (and the calls both kinds forward unchanged) ---------------------------

int DbClose(sqlite3_file* p) {
  auto* f = reinterpret_cast<KxFile*>(p);
  int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  delete f->path;
  delete f->wal_key;
  return rc;
}
int Read(sqlite3_file* p, void* out, int n, sqlite3_int64 at) {
  return Real(p)->pMethods->xRead(Real(p), out, n, at);
}
int Write(sqlite3_file* p, const void* data, int n, sqlite3_int64 at) {
  return Real(p)->pMethods->xWrite(Real(p), data, n, at);
}
int Truncate(sqlite3_file* p, sqlite3_int64 size) {
  return Real(p)->pMethods->xTruncate(Real(p), size);
}
int Sync(sqlite3_file* p, int flags) { return Real(p)->pMethods->xSync(Real(p), flags); }
int FileSize(sqlite3_file* p, sqlite3_int64* size) {
  return Real(p)->pMethods->xFileSize(Real(p), size);
}
int Lock(sqlite3_file* p, int level) { return Real(p)->pMethods->xLock(Real(p), level); }
int Unlock(sqlite3_file* p, int level) { return Real(p)->pMethods->xUnlock(Real(p), level); }
int CheckReservedLock(sqlite3_file* p, int* out) {
  return Real(p)->pMethods->xCheckReservedLock(Real(p), out);
}
// Frames are written in batches only while every commit syncs (sqlite_vfs.h): a PRAGMA that lowers
// synchronous below FULL is refused.
int FileControl(sqlite3_file* p, int op, void* arg) {
  if (op == SQLITE_FCNTL_PRAGMA) {
    char** a = static_cast<char**>(arg);
    if (a[1] && a[2] && sqlite3_stricmp(a[1], "synchronous") == 0 &&
        sqlite3_stricmp(a[2], "full") != 0 && sqlite3_stricmp(a[2], "extra") != 0 &&
        std::strcmp(a[2], "2") != 0 && std::strcmp(a[2], "3") != 0) {
      a[0] = sqlite3_mprintf("kexin-wal keeps synchronous=FULL (src/store/sqlite_vfs.h)");
      return SQLITE_ERROR;
    }
  }
  return Real(p)->pMethods->xFileControl(Real(p), op, arg);
}
int SectorSize(sqlite3_file* p) { return Real(p)->pMethods->xSectorSize(Real(p)); }
int DeviceCharacteristics(sqlite3_file* p) {
  return Real(p)->pMethods->xDeviceCharacteristics(Real(p));
}
int ShmMap(sqlite3_file* p, int page, int size, int extend, void volatile** out) {
  return Real(p)->pMethods->xShmMap(Real(p), page, size, extend, out);
}
// Bytes gathered for the WAL of the database file `p`, if any, go to the file.
void FlushWalOf(sqlite3_file* p) {
  if (g_pending_count.load() == 0) return;
  auto* f = reinterpret_cast<KxFile*>(p);
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_pending->find(*f->wal_key);
  if (it != g_pending->end()) FlushLocked(it->second);  // a failure is sticky on the WAL file
}
// Frames are written only under the WAL write lock. Before any lock is released, what was gathered
// goes to the file: frames of a transaction that rolled back must not be written later, over the
// frames of the next writer (in this process or another).
int ShmLock(sqlite3_file* p, int offset, int n, int flags) {
  if ((flags & SQLITE_SHM_UNLOCK) != 0) FlushWalOf(p);
  return Real(p)->pMethods->xShmLock(Real(p), offset, n, flags);
}
// SQLite calls this between writing a transaction's frames and publishing the WAL-index header
// that makes them visible: the WAL's gathered bytes must be in the file first.
void ShmBarrier(sqlite3_file* p) {
  FlushWalOf(p);
  Real(p)->pMethods->xShmBarrier(Real(p));
}
int ShmUnmap(sqlite3_file* p, int remove) { return Real(p)->pMethods->xShmUnmap(Real(p), remove); }
int Fetch(sqlite3_file* p, sqlite3_int64 at, int n, void** out) {
  return Real(p)->pMethods->xFetch(Real(p), at, n, out);
}
int Unfetch(sqlite3_file* p, sqlite3_int64 at, void* ptr) {
  return Real(p)->pMethods->xUnfetch(Real(p), at, ptr);
}

const sqlite3_io_methods kDbMethods = {3,
                                       DbClose,
                                       Read,
                                       Write,
                                       Truncate,
                                       Sync,
                                       FileSize,
                                       Lock,
                                       Unlock,
                                       CheckReservedLock,
                                       FileControl,
                                       SectorSize,
                                       DeviceCharacteristics,
                                       ShmMap,
                                       ShmLock,
                                       ShmBarrier,
                                       ShmUnmap,
                                       Fetch,
                                       Unfetch};
const sqlite3_io_methods kWalMethods = {3,
                                        WalClose,
                                        WalRead,
                                        WalWrite,
                                        WalTruncate,
                                        WalSync,
                                        WalFileSize,
                                        Lock,
                                        Unlock,
                                        CheckReservedLock,
                                        WalFileControl,
                                        SectorSize,
                                        DeviceCharacteristics,
                                        ShmMap,
                                        ShmLock,
                                        ShmBarrier,
                                        ShmUnmap,
                                        Fetch,
                                        Unfetch};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* p, int flags, int* out_flags) {
  const bool wal = (flags & SQLITE_OPEN_WAL) != 0;
  if (!wal && (flags & SQLITE_OPEN_MAIN_DB) == 0) {
    // Journals, temp files: the real VFS's file as it is (szOsFile is at least its size).
    return g_real->xOpen(g_real, name, p, flags, out_flags);
  }
  auto* f = reinterpret_cast<KxFile*>(p);
  std::memset(f, 0, sizeof(KxFile));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(p) + sizeof(KxFile));
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose only when pMethods is set; the real file cleans up after itself.
    f->base.pMethods = nullptr;
    return rc;
  }
  try {
    f->path = new std::string(name ? name : "");
    if (!wal) {
      f->wal_key = new std::string(*f->path + "-wal");
    } else if ((f->real->pMethods->xDeviceCharacteristics(f->real) &
                SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0) {
      // Without powersafe overwrite SQLite pads a commit to a sector after its sync; such a WAL
      // is written as SQLite writes it.
      f->buf = new std::string();
      f->buf->reserve(kMaxBuffered);
    }
  } catch (const std::bad_alloc&) {
    delete f->buf;
    delete f->wal_key;
    delete f->path;
    f->real->pMethods->xClose(f->real);
    f->base.pMethods = nullptr;
    return SQLITE_NOMEM;
  }
  f->base.pMethods = wal ? &kWalMethods : &kDbMethods;
  return SQLITE_OK;
}

// The rest of the VFS is the real one's.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*DlSym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_real->xDlSym(g_real, h, sym);
}
void DlClose(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int Sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

const char* Register() {
  g_real = sqlite3_vfs_find(nullptr);
  // SQLite's own unix VFS, whose files have every method of io_methods version 3; on anything
  // else kexin uses the default VFS as it is.
  if (!g_real || g_real->iVersion < 2 || std::strcmp(g_real->zName, "unix") != 0) return nullptr;
  g_pending = new std::unordered_map<std::string, KxFile*>();
  std::memset(&g_vfs, 0, sizeof g_vfs);
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(sizeof(KxFile)) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = "kexin-wal";
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return g_vfs.zName;
}

}  // namespace

const char* BatchedWalVfs() {
  static const char* name = Register();
  return name;
}

}  // namespace kexin::store
