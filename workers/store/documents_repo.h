// An assistant's knowledge documents, their chunks, and retrieval over them.
//
// A document is stored whole (documents.content) together with its chunks (document_chunks), in
// the caller's transaction, so a document exists exactly when all its chunks do. Chunking itself
// is the caller's business (llm/chunker.h; store/ does not depend on llm/): CreateDocument takes
// the chunks ready-made and inserts them with ONE statement (a JSON array unnested by PostgreSQL),
// not one round trip per chunk. PostgreSQL computes each chunk's tsvector (a generated column,
// english configuration) and indexes it with GIN.
//
// Retrieval (RetrieveChunks) is full-text search within one assistant's chunks: the user's text
// goes through websearch_to_tsquery('english', ...) (it never fails on user input), then
//   * a chunk matches when it contains ANY of the query's terms: a chat message is a question in
//     natural language, and requiring all of its words (websearch's AND) would find nothing for
//     most of them;
//   * chunks holding ALL the terms (the strict websearch query) rank first, then by ts_rank_cd
//     (cover density: more query terms, closer together) against the any-term query, then by
//     document and position for a stable order.
// A query of only stop words or punctuation has no terms and returns no chunks, without error.
//
// Access: the document functions check the assistant through CheckAssistantAccess (reading needs
// visibility; uploading and deleting need the right to change it) and treat a document of another
// assistant as NOT_FOUND. RetrieveChunks does no access check: its caller has already decided
// that the conversation may use this assistant.
//
// Transactions belong to the caller, database exceptions propagate (as in assistants_repo.h).

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/assistants_repo.h"

namespace soci {
class session;
}

namespace chatd::store {

inline constexpr size_t kMaxDocumentBytes = 1024 * 1024;  // 1 MiB of UTF-8 content
inline constexpr size_t kMaxDocumentFilenameChars = 255;
inline constexpr int kMaxDocumentsPerAssistant = 100;
inline constexpr int kMaxRetrievalTopK = 50;
inline constexpr size_t kMaxRetrievalQueryChars = 4000;
inline constexpr size_t kDefaultExcerptChars = 200;

// API.md's Document (the content is never listed).
struct DocumentInfo {
  std::string id;
  std::string filename;
  std::string content_type;  // "text/plain" | "text/markdown"
  int bytes = 0;
  int chunks = 0;
  std::string created_at;
  std::string cursor;
};

struct NewDocument {
  std::string filename;
  std::string content_type;
  std::string content;              // valid UTF-8 without NUL, at most kMaxDocumentBytes
  std::vector<std::string> chunks;  // non-empty strings, in document order
};

struct RetrievedChunk {
  std::string document_id;
  std::string filename;
  int chunk_index = 0;  // 0-based position in the document
  std::string content;
  double rank = 0;  // ts_rank_cd, higher is more relevant (for ordering and logs only)
};

Result<AssistantListPage<DocumentInfo>> ListDocuments(soci::session& s,
                                                      const std::string& assistant_id,
                                                      const AssistantViewer& viewer, int limit,
                                                      std::string_view cursor);

// Every document of the assistant with its content, oldest first (the account export). No access
// check: the caller owns the assistant.
std::vector<std::pair<DocumentInfo, std::string>> ListDocumentsWithContent(
    soci::session& s, const std::string& assistant_id);

// Inserts the document and its chunks. CONFLICT when the assistant already has
// kMaxDocumentsPerAssistant documents. Run it in a transaction.
Result<DocumentInfo> CreateDocument(soci::session& s, const std::string& assistant_id,
                                    const AssistantViewer& viewer, const NewDocument& document);

// Deletes the document and (by cascade) its chunks.
Status DeleteDocument(soci::session& s, const std::string& assistant_id,
                      const std::string& document_id, const AssistantViewer& viewer);

// The `top_k` (clamped to 1..kMaxRetrievalTopK) chunks of the assistant's documents most relevant
// to `query`, best first; empty when nothing matches, when the query has no searchable terms, or
// when it is not valid UTF-8 or contains NUL (nothing could match it). Only the first
// kMaxRetrievalQueryChars characters of the query are used, which bounds the cost of a search.
Result<std::vector<RetrievedChunk>> RetrieveChunks(soci::session& s,
                                                   const std::string& assistant_id,
                                                   std::string_view query, int top_k);

// The start of a chunk for a reply's `sources`: whitespace runs collapsed to one space, then at
// most `max_chars` code points, cut at a word boundary when there is one in the last third of
// that, with "…" appended when anything was cut. Pure; valid UTF-8 in, valid UTF-8 out.
std::string Excerpt(std::string_view chunk, size_t max_chars = kDefaultExcerptChars);

}  // namespace chatd::store
