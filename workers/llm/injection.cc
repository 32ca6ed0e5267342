// The patterns of injection.h, written in the same notation as the header documents them and
// parsed once, then matched word by word with a tiny backtracking matcher (patterns are at most a
// handful of slots, so backtracking over optional slots costs nothing).

#include "llm/injection.h"

#include <array>

namespace chatd::llm {
namespace {

struct Slot {
  std::vector<std::string> words;  // alternatives; a trailing '*' means "starts with"
  bool optional = false;
};

struct WordPattern {
  std::string name;
  std::vector<Slot> slots;
};

// Slots are separated by spaces; `a|b` alternatives; `(a|b)?` optional.
struct PatternSource {
  const char* name;
  const char* slots;
};

constexpr std::array<PatternSource, 9> kWordPatterns = {{
    {"ignore_previous_instructions",
     "ignore|disregard|forget|override|bypass (all|any|every)? (of)? (the|your|these|those|my)? "
     "previous|prior|above|earlier|preceding|former|original|initial|existing "
     "instruction*|prompt*|rule*|direction*|guideline*|directive*|command*|context"},
    {"ignore_your_instructions",
     "ignore|disregard|forget|override|bypass (all|any)? (of)? your "
     "instruction*|rule*|guideline*|programming|training|restriction*"},
    {"disregard_the_above",
     "ignore|disregard|forget (all|everything|anything)? (of)? (the|that)? above"},
    {"you_are_now",
     "you are now "
     "a|an|dan|in|my|no|free|unrestricted|unfiltered|uncensored|jailbroken|going|acting|"
     "called|named|evil"},
    {"from_now_on_you_are", "from now on you are|will|must|shall|act|behave|respond|answer"},
    {"system_prompt", "system prompt|prompts"},
    {"developer_mode", "developer|god|dan mode"},
    {"jailbreak", "jailbr*"},
    {"do_anything_now", "do anything now"},
}};

constexpr std::array<std::string_view, 6> kTemplateMarkers = {
    "<|im_start|>", "<|im_end|>", "<|system|>", "<|endoftext|>", "[inst]", "<<sys>>"};
constexpr std::string_view kTemplateMarkerName = "chat_template_marker";

std::vector<std::string> SplitOn(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<WordPattern> ParsePatterns() {
  std::vector<WordPattern> patterns;
  for (const auto& source : kWordPatterns) {
    WordPattern p{source.name, {}};
    for (std::string& token : SplitOn(source.slots, ' ')) {
      Slot slot;
      std::string_view t = token;
      if (t.size() >= 3 && t.front() == '(' && t.substr(t.size() - 2) == ")?") {
        slot.optional = true;
        t = t.substr(1, t.size() - 3);
      }
      slot.words = SplitOn(t, '|');
      p.slots.push_back(std::move(slot));
    }
    patterns.push_back(std::move(p));
  }
  return patterns;
}

const std::vector<WordPattern>& Patterns() {
  static const std::vector<WordPattern> patterns = ParsePatterns();
  return patterns;
}

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// Lowercased words; apostrophes (ASCII ' and U+2019) are dropped so "you're" is one word.
std::vector<std::string> Words(std::string_view lower) {
  std::vector<std::string> words;
  std::string current;
  for (size_t i = 0; i < lower.size(); ++i) {
    auto c = static_cast<unsigned char>(lower[i]);
    if (c == '\'') continue;
    if (lower.substr(i, 3) == "\xE2\x80\x99") {
      i += 2;
      continue;
    }
    if (IsWordByte(c)) {
      current.push_back(static_cast<char>(c));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

bool SlotAccepts(const Slot& slot, const std::string& word) {
  for (const std::string& alt : slot.words) {
    if (!alt.empty() && alt.back() == '*') {
      std::string_view prefix(alt.data(), alt.size() - 1);
      if (word.compare(0, prefix.size(), prefix) == 0) return true;
    } else if (alt == word) {
      return true;
    }
  }
  return false;
}

bool MatchAt(const WordPattern& p, size_t slot, const std::vector<std::string>& words, size_t at) {
  if (slot == p.slots.size()) return true;
  const Slot& s = p.slots[slot];
  if (at < words.size() && SlotAccepts(s, words[at]) && MatchAt(p, slot + 1, words, at + 1))
    return true;
  return s.optional && MatchAt(p, slot + 1, words, at);
}

}  // namespace

std::vector<std::string> DetectPromptInjection(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::vector<std::string> matched;
  const std::vector<std::string> words = Words(lower);
  for (const WordPattern& p : Patterns()) {
    for (size_t at = 0; at < words.size(); ++at) {
      if (MatchAt(p, 0, words, at)) {
        matched.push_back(p.name);
        break;
      }
    }
  }
  for (std::string_view marker : kTemplateMarkers) {
    if (lower.find(marker) != std::string::npos) {
      matched.emplace_back(kTemplateMarkerName);
      break;
    }
  }
  return matched;
}

}  // namespace chatd::llm
