#include "json_body.hpp"

#include <string>

#include "fp/net/json.hpp"
#include "fp/runtime/errc.hpp"

namespace fp::net {

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Deeper documents are rejected; the walk below recurses once per level.
constexpr int max_depth = 256;

error_code walk(od::value v, int depth);

error_code walk_object(od::object obj, int depth) {
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key))
      return err;
    od::value v;
    if (auto err = field.value().get(v))
      return err;
    if (auto err = walk(v, depth + 1))
      return err;
  }
  return simdjson::SUCCESS;
}

error_code walk_array(od::array arr, int depth) {
  for (auto element : arr) {
    od::value v;
    if (auto err = element.get(v))
      return err;
    if (auto err = walk(v, depth + 1))
      return err;
  }
  return simdjson::SUCCESS;
}

error_code walk(od::value v, int depth) {
  if (depth > max_depth)
    return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = v.type().get(type))
    return err;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (auto err = v.get_object().get(obj))
        return err;
      return walk_object(obj, depth);
    }
    case od::json_type::array: {
      od::array arr;
      if (auto err = v.get_array().get(arr))
        return err;
      return walk_array(arr, depth);
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = v.is_null().get(is_null))
        return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::SUCCESS;
}

// The document itself is not an `od::value`; scalars at the top level need
// the document's own getters.
error_code walk_document(od::document& doc) {
  od::json_type type;
  if (auto err = doc.type().get(type))
    return err;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (auto err = doc.get_object().get(obj))
        return err;
      return walk_object(obj, 1);
    }
    case od::json_type::array: {
      od::array arr;
      if (auto err = doc.get_array().get(arr))
        return err;
      return walk_array(arr, 1);
    }
    case od::json_type::string: {
      std::string_view s;
      return doc.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return doc.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b;
      return doc.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = doc.is_null().get(is_null))
        return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::SUCCESS;
}

caf::error syntax_error(error_code code, long offset) {
  std::string msg = "invalid JSON";
  if (offset >= 0) {
    msg += " at byte ";
    msg += std::to_string(offset);
  }
  msg += ": ";
  switch (code) {
    // simdjson reports a bad literal ("tru") as a type mismatch.
    case simdjson::INCORRECT_TYPE:
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      msg += "invalid literal or value";
      break;
    default:
      msg += simdjson::error_message(code);
  }
  return runtime::make_error(runtime::errc::bad_request, std::move(msg));
}

} // namespace

caf::error validate_json(od::parser& parser,
                         const simdjson::padded_string& text,
                         od::document& doc) {
  auto size = static_cast<long>(text.size());
  if (auto err = parser.iterate(text).get(doc))
    return syntax_error(err, err == simdjson::EMPTY ? -1 : size);
  auto err = walk_document(doc);
  if (!err) {
    // A valid location after the walk means text follows the value.
    auto loc = doc.current_location();
    if (!loc.error())
      return syntax_error(simdjson::TRAILING_CONTENT,
                          static_cast<long>(loc.value_unsafe() - text.data()));
    return caf::none;
  }
  long offset = -1;
  if (err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT) {
    offset = size;
  } else {
    auto loc = doc.current_location();
    if (!loc.error())
      offset = static_cast<long>(loc.value_unsafe() - text.data());
  }
  return syntax_error(err, offset);
}

bool is_json_media_type(std::string_view content_type) noexcept {
  auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t'))
    type.remove_prefix(1);
  constexpr std::string_view app = "application/";
  if (type.size() <= app.size() || !iequals(type.substr(0, app.size()), app))
    return false;
  auto sub = type.substr(app.size());
  if (iequals(sub, "json"))
    return true;
  return sub.size() > 5 && iequals(sub.substr(sub.size() - 5), "+json");
}

caf::error check_request_body(const http_request& req,
                              std::string_view declared_type) {
  const auto& m = req.method;
  if (m != "POST" && m != "PUT" && m != "PATCH" && m != "DELETE")
    return caf::none;
  if (declared_type.empty())
    return req.body.empty() ? caf::none : check_json_body(req);
  if (is_json_media_type(declared_type))
    return check_json_body(req);
  return caf::none;
}

caf::error check_json_body(const http_request& req) {
  json_body body;
  return body.parse(req);
}

caf::error json_body::parse(const http_request& req) {
  auto content_type = req.header("content-type");
  if (!is_json_media_type(content_type))
    return runtime::make_error(
      runtime::errc::unsupported_media,
      content_type.empty()
        ? "a JSON body is required: send Content-Type: application/json"
        : "expected Content-Type application/json, got "
            + std::string{content_type});
  bool blank = req.body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank)
    return runtime::make_error(runtime::errc::bad_request,
                               "the request body is empty; JSON is required");
  text_ = simdjson::padded_string{std::string_view{req.body}};
  if (auto err = validate_json(parser_, text_, doc_))
    return err;
  doc_.rewind();
  return caf::none;
}

caf::error json_body::parse_object(const http_request& req,
                                   simdjson::ondemand::object& obj,
                                   std::string_view expected_shape) {
  if (auto err = parse(req))
    return err;
  if (doc_.get_object().get(obj))
    return runtime::make_error(runtime::errc::invalid_argument,
                               std::string{expected_shape});
  return caf::none;
}

} // namespace fp::net
