internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// An error answer from an AWS service, read from whichever shape it came in:
/// - JSON protocols (ECR): `{"__type": "…#InvalidSignatureException", "message": "…"}`, or the
///   `x-amzn-ErrorType` header; `__type` may carry a namespace before `#` and a URL after `:`
///   (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization).
/// - Query/XML protocols (STS), and the XML that the front door sends for authentication failures on any service
///   (moto does this too): `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>`.
struct AWSServiceError: Equatable {
    var code: String
    var message: String

    static func parse(_ response: HTTPResponse) -> AWSServiceError? {
        let text = response.bodyText
        var code: String?
        var message: String?
        if let object = try? JSONValue.parseObject(response.body) {
            code = (object["__type"] ?? object["code"] ?? object["Code"])?.stringValue
            message = (object["message"] ?? object["Message"])?.stringValue
        } else if text.contains("<") {
            code = XMLText.first("Code", in: text)
            message = XMLText.first("Message", in: text)
        }
        if code == nil, let header = response.header("x-amzn-ErrorType") { code = header }
        guard var name = code, !name.isEmpty else { return nil }
        if let hash = name.lastIndex(of: "#") { name = String(name[name.index(after: hash)...]) }
        if let colon = name.firstIndex(of: ":") { name = String(name[..<colon]) }
        return AWSServiceError(code: name, message: message ?? "")
    }

    /// `.rejected` with the service's own code and text, or for an answer with no recognisable error shape,
    /// the HTTP status and the start of the body.
    static func rejection(_ response: HTTPResponse, endpoint: String) -> ProviderError {
        if let error = parse(response) {
            return .rejected(provider: "aws", endpoint: endpoint, code: error.code, message: error.message)
        }
        return .rejected(
            provider: "aws", endpoint: endpoint, code: "HTTP \(response.status)",
            message: String(response.bodyText.prefix(200)))
    }

    /// Transport failures: unreachable, timed out, TLS.
    static func unreachable(_ error: HTTPError, endpoint: String) -> ProviderError {
        .unreachable(provider: "aws", endpoint: endpoint, reason: error.detail)
    }
}

/// Just enough XML for AWS query-protocol answers: the text of the first `<Name>` element, entities decoded.
/// The answers are small, flat and machine-written; a full parser would be the only reason to load FoundationXML.
enum XMLText {
    static func first(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>") else { return nil }
        guard let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else { return nil }
        return decodeEntities(String(text[open.upperBound..<close.lowerBound]))
    }

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "&", let semicolon = text[index...].firstIndex(of: ";"),
                text.distance(from: index, to: semicolon) <= 10
            {
                let entity = text[text.index(after: index)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let value = UInt32(entity.dropFirst(2), radix: 16),
                        let scalar = Unicode.Scalar(value)
                    {
                        replacement = String(Character(scalar))
                    } else if entity.hasPrefix("#"), let value = UInt32(entity.dropFirst()),
                        let scalar = Unicode.Scalar(value)
                    {
                        replacement = String(Character(scalar))
                    }
                }
                if let replacement {
                    out += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            out.append(text[index])
            index = text.index(after: index)
        }
        return out
    }
}
