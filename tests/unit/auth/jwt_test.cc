#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "auth/tokens.h"

namespace chatd::auth {
namespace {

using std::chrono::seconds;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::string_view kIssuer = "chatd";
constexpr std::string_view kAudience = "chatd-api";
constexpr int64_t kNow = 1'800'000'000;
constexpr std::string_view kSub = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

JwtCodec MakeCodec(seconds leeway = seconds(30)) {
  return JwtCodec(std::string(kSecret), std::string(kIssuer), std::string(kAudience), leeway);
}

AccessClaims SampleClaims() {
  return AccessClaims{std::string(kSub), kNow - 10, kNow + 890, "user", false};
}

// Signs "b64(header).b64(payload)" with an independent HMAC (OpenSSL's one-shot HMAC()), so the
// tests can present any header and claims with a valid signature and reach each check alone.
std::string SignRaw(std::string_view header_b64, std::string_view payload_b64,
                    std::string_view key = kSecret, const EVP_MD* md = EVP_sha256()) {
  std::string input = std::string(header_b64) + "." + std::string(payload_b64);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + Base64UrlEncode(std::string_view(reinterpret_cast<char*>(mac), len));
}

std::string MakeToken(std::string_view header_json, std::string_view payload_json,
                      std::string_view key = kSecret, const EVP_MD* md = EVP_sha256()) {
  return SignRaw(Base64UrlEncode(header_json), Base64UrlEncode(payload_json), key, md);
}

constexpr std::string_view kGoodHeader = R"({"alg":"HS256","typ":"JWT"})";

// The payload as a list of members with raw JSON values, to replace or remove one at a time.
class Claims {
 public:
  Claims()
      : members_{{"iss", "\"chatd\""},
                 {"aud", "\"chatd-api\""},
                 {"sub", "\"" + std::string(kSub) + "\""},
                 {"iat", std::to_string(kNow - 10)},
                 {"exp", std::to_string(kNow + 890)},
                 {"role", "\"user\""},
                 {"guest", "false"}} {}

  Claims& Set(const std::string& key, const std::string& raw_json) {
    for (auto& [k, v] : members_) {
      if (k == key) {
        v = raw_json;
        return *this;
      }
    }
    members_.emplace_back(key, raw_json);
    return *this;
  }
  Claims& Remove(const std::string& key) {
    std::erase_if(members_, [&](const auto& m) { return m.first == key; });
    return *this;
  }
  std::string Json() const {
    std::string out = "{";
    for (const auto& [k, v] : members_) {
      if (out.size() > 1) out += ",";
      out += "\"" + k + "\":" + v;
    }
    return out + "}";
  }
  std::string Token(std::string_view header = kGoodHeader) const {
    return MakeToken(header, Json());
  }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

// The detail of every UNAUTHENTICATED answer: one generic sentence.
std::string GenericDetail() {
  return MakeCodec().Verify("x", kNow).status().detail();
}

void ExpectUnauthenticated(const Result<AccessClaims>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << what;
  EXPECT_EQ(r.status().detail(), GenericDetail()) << what;
}

// --- Round trips ---------------------------------------------------------------------------

TEST(JwtTest, SignAndVerifyRoundTrip) {
  JwtCodec codec = MakeCodec();
  for (AccessClaims c :
       {SampleClaims(), AccessClaims{std::string(kSub), kNow, kNow + 900, "admin", false},
        AccessClaims{std::string(kSub), kNow, kNow + 900, "user", true}}) {
    std::string token = codec.Sign(c);
    EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
    EXPECT_EQ(token.rfind("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 0), 0u) << token;
    Result<AccessClaims> v = codec.Verify(token, kNow);
    ASSERT_TRUE(v.ok()) << v.status().detail();
    EXPECT_EQ(*v, c);
  }
}

TEST(JwtTest, PayloadCarriesRegisteredClaims) {
  std::string token = MakeCodec().Sign(SampleClaims());
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::optional<std::string> payload = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  ASSERT_TRUE(payload.has_value());
  for (const char* member :
       {"\"iss\":\"chatd\"", "\"aud\":\"chatd-api\"",
        "\"sub\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\"", "\"iat\":1799999990",
        "\"exp\":1800000890", "\"role\":\"user\"", "\"guest\":false"}) {
    EXPECT_NE(payload->find(member), std::string::npos) << member << " in " << *payload;
  }
}

TEST(JwtTest, IndependentlySignedTokenVerifies) {
  Result<AccessClaims> v = MakeCodec().Verify(Claims().Token(), kNow);
  ASSERT_TRUE(v.ok()) << v.status().detail();
  EXPECT_EQ(*v, SampleClaims());
}

TEST(JwtTest, ConstructsFromConfig) {
  Config config;
  config.jwt_secret = std::string(kSecret);
  config.jwt_audience = std::string(kAudience);
  JwtCodec codec(config);
  EXPECT_EQ(codec.issuer(), "chatd");
  EXPECT_EQ(codec.audience(), "chatd-api");
  EXPECT_EQ(codec.leeway(), seconds(30));
  EXPECT_TRUE(codec.Verify(Claims().Token(), kNow).ok());
  EXPECT_THROW(JwtCodec("", "i", "a"), std::invalid_argument);
}

// --- Header --------------------------------------------------------------------------------

TEST(JwtTest, AcceptsHeaderVariants) {
  JwtCodec codec = MakeCodec();
  for (const char* header : {R"({"alg":"HS256"})", R"({"typ":"JWT","alg":"HS256"})",
                             R"({"alg":"HS256","typ":"JWT","kid":"../../etc/passwd"})",
                             R"({"alg":"HS256","kid":"k1","cty":"x"})"}) {
    EXPECT_TRUE(codec.Verify(Claims().Token(header), kNow).ok()) << header;
  }
}

TEST(JwtTest, RejectsOtherAlgorithmsEvenWhenSignedWithOurKey) {
  JwtCodec codec = MakeCodec();
  const std::string payload = Claims().Json();
  for (const char* header : {R"({"alg":"none","typ":"JWT"})",
                             R"({"alg":"None"})",
                             R"({"alg":"NONE"})",
                             R"({"alg":"HS512","typ":"JWT"})",
                             R"({"alg":"HS384"})",
                             R"({"alg":"RS256","typ":"JWT"})",
                             R"({"alg":"ES256"})",
                             R"({"alg":"PS256"})",
                             R"({"alg":"hs256"})",
                             R"({"alg":"HS256 "})",
                             R"({"alg":""})",
                             R"({"alg":null})",
                             R"({"alg":256})",
                             R"({"alg":["HS256"]})",
                             R"({"typ":"JWT"})",
                             R"({})",
                             R"({"alg":"HS256","typ":"JWE"})",
                             R"({"alg":"HS256","typ":"jwt"})",
                             R"({"alg":"HS256","typ":1})",
                             R"({"alg":"HS256","crit":["exp"]})",
                             R"({"alg":"HS256","crit":[]})",
                             R"({"alg":"HS256","jku":"https://evil.example/jwks.json"})",
                             R"({"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}})",
                             R"({"alg":"HS256","x5u":"https://evil.example/cert"})",
                             R"({"alg":"HS256","b64":false,"crit":["b64"]})",
                             R"({"alg":"HS256","zip":"DEF"})",
                             R"({"alg":"HS256","alg":"none"})",
                             R"({"alg":"none","alg":"HS256"})"}) {
    ExpectUnauthenticated(codec.Verify(MakeToken(header, payload), kNow), header);
  }
}

TEST(JwtTest, RejectsAlgNoneWithEmptySignature) {
  JwtCodec codec = MakeCodec();
  std::string unsigned_token = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                               Base64UrlEncode(Claims().Json()) + ".";
  ExpectUnauthenticated(codec.Verify(unsigned_token, kNow), "alg none, empty signature");
  ExpectUnauthenticated(codec.Verify(unsigned_token.substr(0, unsigned_token.size() - 1), kNow),
                        "alg none, no signature part");
}

TEST(JwtTest, RejectsHs512Signature) {
  // An HS512 token signed with our secret: both the header and the MAC length are wrong for us.
  std::string token =
      MakeToken(R"({"alg":"HS512","typ":"JWT"})", Claims().Json(), kSecret, EVP_sha512());
  ExpectUnauthenticated(MakeCodec().Verify(token, kNow), "HS512");
  // And an HS512 MAC under an HS256 header.
  token = MakeToken(kGoodHeader, Claims().Json(), kSecret, EVP_sha512());
  ExpectUnauthenticated(MakeCodec().Verify(token, kNow), "HS512 MAC, HS256 header");
}

TEST(JwtTest, RejectsNonJsonOrNonObjectHeader) {
  JwtCodec codec = MakeCodec();
  const std::string payload = Claims().Json();
  for (const char* header : {"not json", R"(["alg","HS256"])", R"("HS256")", "null",
                             R"({"alg":"HS256"} )"
                             "x",
                             R"({"alg":"HS256")"}) {
    ExpectUnauthenticated(codec.Verify(MakeToken(header, payload), kNow), header);
  }
  const std::string nul_header = std::string(kGoodHeader) + std::string("\0", 1);
  ExpectUnauthenticated(codec.Verify(MakeToken(nul_header, payload), kNow), "header + NUL");
}

// --- Signature -----------------------------------------------------------------------------

TEST(JwtTest, RejectsTamperedTokens) {
  JwtCodec codec = MakeCodec();
  const std::string token = codec.Sign(SampleClaims());
  ASSERT_TRUE(codec.Verify(token, kNow).ok());
  // Flip every character in turn (to another base64url character): header, payload, signature.
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    ExpectUnauthenticated(codec.Verify(t, kNow), "flipped char " + std::to_string(i));
  }
  // A payload swapped in from another valid token.
  AccessClaims admin = SampleClaims();
  admin.role = "admin";
  std::string other = codec.Sign(admin);
  std::string spliced = token.substr(0, token.find('.')) +
                        other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                        token.substr(token.rfind('.'));
  ExpectUnauthenticated(codec.Verify(spliced, kNow), "spliced payload");
}

TEST(JwtTest, RejectsSignatureFromAnotherSecret) {
  JwtCodec other("another-secret-of-at-least-32-bytes!!", std::string(kIssuer),
                 std::string(kAudience));
  ExpectUnauthenticated(MakeCodec().Verify(other.Sign(SampleClaims()), kNow), "other codec");
  ExpectUnauthenticated(
      MakeCodec().Verify(MakeToken(kGoodHeader, Claims().Json(), "wrong key"), kNow), "wrong key");
  // A secret that is a prefix of ours.
  ExpectUnauthenticated(
      MakeCodec().Verify(MakeToken(kGoodHeader, Claims().Json(), kSecret.substr(0, 32)), kNow),
      "prefix key");
}

TEST(JwtTest, RejectsMalformedSignature) {
  JwtCodec codec = MakeCodec();
  const std::string token = codec.Sign(SampleClaims());
  const std::string signing_input = token.substr(0, token.rfind('.'));
  const std::string sig = token.substr(token.rfind('.') + 1);
  ASSERT_EQ(sig.size(), 43u);
  for (const std::string& s :
       {sig + "=", sig.substr(0, 42), sig.substr(0, 40), sig + "A", sig + "AAAA", sig + sig,
        std::string("A"), std::string(43, 'A'), sig.substr(0, 42) + "+", sig.substr(0, 42) + "/",
        sig.substr(0, 21) + " " + sig.substr(22)}) {
    ExpectUnauthenticated(codec.Verify(signing_input + "." + s, kNow), "signature " + s);
  }
  // Non-canonical final character: same decoded bytes only if unused bits were ignored.
  std::string last_bits = sig;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  last_bits.back() = alphabet[(alphabet.find(sig.back()) ^ 1)];
  ExpectUnauthenticated(codec.Verify(signing_input + "." + last_bits, kNow), "unused bits set");
}

// --- Structure and encoding -----------------------------------------------------------------

TEST(JwtTest, RejectsWrongStructure) {
  JwtCodec codec = MakeCodec();
  const std::string token = codec.Sign(SampleClaims());
  const size_t d1 = token.find('.'), d2 = token.rfind('.');
  const std::string h = token.substr(0, d1), p = token.substr(d1 + 1, d2 - d1 - 1),
                    s = token.substr(d2 + 1);
  for (const std::string& t :
       {std::string(), std::string("."), std::string(".."), std::string("..."), h, h + "." + p,
        h + "." + p + "." + s + ".", h + "." + p + "." + s + "." + s, "." + h + "." + p + "." + s,
        h + ".." + p + "." + s, h + "." + p + ".." + s, "." + p + "." + s, h + ".." + s,
        h + "." + p + ".", h + "." + p + "." + s + " ", " " + token, token + "\n",
        std::string("Bearer ") + token, h + "." + p + "." + s + "." + "e30"}) {
    ExpectUnauthenticated(codec.Verify(t, kNow), "structure: " + t);
  }
}

TEST(JwtTest, RejectsMalformedBase64InHeaderOrPayload) {
  JwtCodec codec = MakeCodec();
  const std::string h = Base64UrlEncode(kGoodHeader);
  const std::string p = Base64UrlEncode(Claims().Json());
  // Each is signed correctly, so only the encoding is wrong.
  std::vector<std::pair<std::string, std::string>> cases = {
      {h + "=", p},
      {h, p + "="},
      {h, p + "=="},
      {"*" + h.substr(1), p},
      {h, p.substr(0, p.size() - 1) + "!"},
      {h, p + "A"},  // length 1 mod 4 (or garbage byte): never valid JSON either way
      {h, p.substr(0, 4) + " " + p.substr(4)},
  };
  // Standard-alphabet base64 of the same bytes, where it differs from base64url.
  std::string std_p = p;
  for (char& c : std_p) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std_p != p) cases.push_back({h, std_p});
  for (const auto& [hh, pp] : cases) {
    ExpectUnauthenticated(codec.Verify(SignRaw(hh, pp), kNow), hh + "." + pp);
  }
}

TEST(JwtTest, RejectsHugeTokensUnread) {
  JwtCodec codec = MakeCodec();
  const std::string token = codec.Sign(SampleClaims());
  ExpectUnauthenticated(codec.Verify(std::string(100 * 1024, 'A'), kNow), "100 KB of A");
  ExpectUnauthenticated(codec.Verify(token + std::string(100 * 1024, 'A'), kNow), "100 KB sig");
  // A correctly signed token is still refused past the cap, and accepted just under it.
  auto padded = [&](size_t pad) {
    return Claims().Set("pad", "\"" + std::string(pad, 'x') + "\"").Token();
  };
  size_t pad = 2000;
  while (padded(pad).size() <= JwtCodec::kMaxTokenBytes) ++pad;
  ASSERT_EQ(padded(pad).size() > JwtCodec::kMaxTokenBytes, true);
  EXPECT_TRUE(codec.Verify(padded(pad - 3), kNow).ok());
  ExpectUnauthenticated(codec.Verify(padded(pad), kNow), "just over the cap");
  ExpectUnauthenticated(codec.Verify(padded(100 * 1024), kNow), "100 KB signed claims");
}

// --- Claims --------------------------------------------------------------------------------

TEST(JwtTest, ExpiryAndLeeway) {
  JwtCodec codec = MakeCodec(seconds(30));
  Claims c;
  c.Set("iat", std::to_string(kNow - 1000));

  Result<AccessClaims> expired =
      codec.Verify(c.Set("exp", std::to_string(kNow - 31)).Token(), kNow);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), ErrorCode::kTokenExpired);
  EXPECT_EQ(expired.status().detail(), "Your session has expired. Please sign in again.");
  EXPECT_EQ(codec.Verify(c.Set("exp", std::to_string(kNow - 30)).Token(), kNow).status().code(),
            ErrorCode::kTokenExpired);
  // Within the leeway.
  EXPECT_TRUE(codec.Verify(c.Set("exp", std::to_string(kNow - 29)).Token(), kNow).ok());
  EXPECT_TRUE(codec.Verify(c.Set("exp", std::to_string(kNow)).Token(), kNow).ok());
  // The codec's own tokens expire at exp (+ leeway).
  std::string token = codec.Sign(SampleClaims());
  EXPECT_TRUE(codec.Verify(token, SampleClaims().exp + 29).ok());
  EXPECT_EQ(codec.Verify(token, SampleClaims().exp + 30).status().code(), ErrorCode::kTokenExpired);

  // Without leeway, exp == now is expired.
  JwtCodec strict = MakeCodec(seconds(0));
  EXPECT_EQ(strict.Verify(c.Set("exp", std::to_string(kNow)).Token(), kNow).status().code(),
            ErrorCode::kTokenExpired);
  EXPECT_TRUE(strict.Verify(c.Set("exp", std::to_string(kNow + 1)).Token(), kNow).ok());
  // A negative leeway counts as none.
  EXPECT_EQ(MakeCodec(seconds(-100)).leeway(), seconds(0));
}

TEST(JwtTest, ExpiredTokenThatFailsAnotherCheckIsUnauthenticated) {
  JwtCodec codec = MakeCodec();
  Claims c;
  c.Set("exp", std::to_string(kNow - 3600)).Set("iat", std::to_string(kNow - 4000));
  ExpectUnauthenticated(codec.Verify(Claims(c).Set("aud", "\"other\"").Token(), kNow), "aud");
  ExpectUnauthenticated(codec.Verify(Claims(c).Set("iss", "\"other\"").Token(), kNow), "iss");
  ExpectUnauthenticated(codec.Verify(Claims(c).Set("sub", "\"x\"").Token(), kNow), "sub");
  // And a forged expired token never says "expired".
  ExpectUnauthenticated(codec.Verify(MakeToken(kGoodHeader, c.Json(), "wrong key"), kNow),
                        "forged");
}

TEST(JwtTest, NotBefore) {
  JwtCodec codec = MakeCodec();
  ExpectUnauthenticated(codec.Verify(Claims().Set("nbf", std::to_string(kNow + 31)).Token(), kNow),
                        "nbf in the future");
  ExpectUnauthenticated(
      codec.Verify(Claims().Set("nbf", std::to_string(kNow + 3600)).Token(), kNow),
      "nbf far in the future");
  EXPECT_TRUE(codec.Verify(Claims().Set("nbf", std::to_string(kNow + 29)).Token(), kNow).ok());
  EXPECT_TRUE(codec.Verify(Claims().Set("nbf", std::to_string(kNow - 100)).Token(), kNow).ok());
  for (const char* bad : {"\"1\"", "null", "true", "1.5", "[]"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Set("nbf", bad).Token(), kNow),
                          std::string("nbf ") + bad);
  }
}

TEST(JwtTest, IssuedInTheFuture) {
  JwtCodec codec = MakeCodec();
  Claims c;
  c.Set("exp", std::to_string(kNow + 7200));
  ExpectUnauthenticated(codec.Verify(Claims(c).Set("iat", std::to_string(kNow + 31)).Token(), kNow),
                        "iat +31");
  ExpectUnauthenticated(
      codec.Verify(Claims(c).Set("iat", std::to_string(kNow + 3600)).Token(), kNow), "iat +3600");
  EXPECT_TRUE(codec.Verify(Claims(c).Set("iat", std::to_string(kNow + 29)).Token(), kNow).ok());
  // exp before iat is nonsense.
  ExpectUnauthenticated(
      codec.Verify(
          Claims().Set("iat", std::to_string(kNow)).Set("exp", std::to_string(kNow - 1)).Token(),
          kNow),
      "exp < iat");
}

TEST(JwtTest, IssuerAndAudience) {
  JwtCodec codec = MakeCodec();
  for (const char* iss :
       {"\"other\"", "\"Chatd\"", "\"chatd \"", "\"\"", "null", "1", "[\"chatd\"]"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Set("iss", iss).Token(), kNow),
                          std::string("iss ") + iss);
  }
  ExpectUnauthenticated(codec.Verify(Claims().Remove("iss").Token(), kNow), "no iss");
  for (const char* aud :
       {"\"chatd\"", "\"other\"", "\"CHATD-API\"", "\"\"", "null", "1", "[]", "[\"other\"]",
        "[\"chatd\",\"x\"]", "[\"chatd-api\",1]", "[[\"chatd-api\"]]", "{\"aud\":\"chatd-api\"}"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Set("aud", aud).Token(), kNow),
                          std::string("aud ") + aud);
  }
  ExpectUnauthenticated(codec.Verify(Claims().Remove("aud").Token(), kNow), "no aud");
  // An array that contains our audience is accepted.
  EXPECT_TRUE(codec.Verify(Claims().Set("aud", "[\"chatd-api\"]").Token(), kNow).ok());
  EXPECT_TRUE(codec.Verify(Claims().Set("aud", "[\"other\",\"chatd-api\"]").Token(), kNow).ok());
}

TEST(JwtTest, Subject) {
  JwtCodec codec = MakeCodec();
  for (const char* sub :
       {"\"not-a-uuid\"", "\"\"", "\"3f2504e0-4f89-41d3-9a0c-0305e82c330\"",
        "\"3f2504e0-4f89-41d3-9a0c-0305e82c33011\"", "\"3f2504e04f8941d39a0c0305e82c3301\"",
        "\"{3f2504e0-4f89-41d3-9a0c-0305e82c3301}\"", "\"3f2504e0-4f89-41d3-9a0c-0305e82c330g\"",
        "\"3f2504e0-4f89-41d3-9a0c-0305e82c3301' OR '1'='1\"", "null", "123", "[]"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Set("sub", sub).Token(), kNow),
                          std::string("sub ") + sub);
  }
  ExpectUnauthenticated(codec.Verify(Claims().Remove("sub").Token(), kNow), "no sub");
  // An upper-case UUID is the same user: returned lowercased.
  Result<AccessClaims> upper =
      codec.Verify(Claims().Set("sub", "\"3F2504E0-4F89-41D3-9A0C-0305E82C3301\"").Token(), kNow);
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->sub, kSub);
}

TEST(JwtTest, RoleGuestAndTimesMustBeWellTyped) {
  JwtCodec codec = MakeCodec();
  for (const char* key : {"role", "guest", "iat", "exp"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Remove(key).Token(), kNow),
                          std::string("no ") + key);
  }
  for (const char* role : {"\"superuser\"", "\"Admin\"", "\"\"", "null", "1", "[\"admin\"]"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Set("role", role).Token(), kNow),
                          std::string("role ") + role);
  }
  for (const char* guest : {"\"true\"", "1", "0", "null"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Set("guest", guest).Token(), kNow),
                          std::string("guest ") + guest);
  }
  for (const char* t : {"\"1800000000\"", "1800000000.5", "null", "true", "1e400"}) {
    ExpectUnauthenticated(codec.Verify(Claims().Set("exp", t).Token(), kNow),
                          std::string("exp ") + t);
    ExpectUnauthenticated(codec.Verify(Claims().Set("iat", t).Token(), kNow),
                          std::string("iat ") + t);
  }
  // Extreme but integral times do not overflow.
  EXPECT_TRUE(codec.Verify(Claims().Set("exp", "9223372036854775807").Token(), kNow).ok());
  EXPECT_EQ(codec.Verify(Claims().Set("iat", "-9223372036854775808").Set("exp", "0").Token(), kNow)
                .status()
                .code(),
            ErrorCode::kTokenExpired);
  ExpectUnauthenticated(codec.Verify(Claims().Set("exp", "9223372036854775808").Token(), kNow),
                        "exp beyond int64");
  ExpectUnauthenticated(codec.Verify(Claims().Token(), INT64_MIN), "now at the start of time");
  EXPECT_EQ(codec.Verify(Claims().Token(), INT64_MAX).status().code(), ErrorCode::kTokenExpired);
}

TEST(JwtTest, RejectsNonObjectOrMalformedPayload) {
  JwtCodec codec = MakeCodec();
  for (const std::string& payload :
       {std::string("[") + Claims().Json() + "]", std::string("[]"), std::string("\"sub\""),
        std::string("null"), std::string("42"), std::string("not json"), std::string(""),
        Claims().Json() + "x", Claims().Json().substr(0, Claims().Json().size() - 1),
        // Duplicate claims: a parser that kept the last one would see another subject.
        Claims().Json().substr(0, Claims().Json().size() - 1) +
            ",\"sub\":\"00000000-0000-4000-8000-000000000000\"}",
        std::string("{\"iss\":\"chatd\"\0}", 16),
        // Anything after a NUL must not be ignored (RapidJSON's reader stops at a NUL).
        Claims().Json() + std::string("\0", 1), Claims().Json() + std::string("\0garbage", 8)}) {
    ExpectUnauthenticated(codec.Verify(MakeToken(kGoodHeader, payload), kNow), payload);
  }
}

TEST(JwtTest, ConcurrentVerification) {
  JwtCodec codec = MakeCodec();
  const std::string token = codec.Sign(SampleClaims());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (!codec.Verify(token, kNow).ok()) ++failures;
        if (codec.Verify(token + "x", kNow).ok()) ++failures;
        if (!codec.Verify(codec.Sign(SampleClaims()), kNow).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace chatd::auth
