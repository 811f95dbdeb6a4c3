/// A `multipart/byteranges` body (RFC 9110 §14.6, framing from RFC 2046 §5.1.1): the answer to a request for
/// several byte ranges. Each part is read by the length its own `Content-Range` names, never by searching the
/// binary content for the boundary, so a part whose bytes happen to contain the delimiter is still read whole.
package struct MultipartByteRanges: Sendable, Equatable {
    package struct Part: Sendable, Equatable {
        package var range: Range<Int64>
        package var bytes: ArraySlice<UInt8>
    }

    package var parts: [Part]

    /// Why a body is not a well-formed multipart/byteranges answer.
    package enum Malformed: Error, Equatable {
        case noBoundary(contentType: String)
        case missingDelimiter(offset: Int)
        case partWithoutContentRange(index: Int)
        case truncatedPart(index: Int)
    }

    /// The boundary of a `multipart/byteranges` content type, nil for any other type. The parameter may be quoted
    /// (RFC 9110 §5.6.6) and is 1 to 70 characters (RFC 2046).
    package static func boundary(contentType: String) -> String? {
        let fields = contentType.split(separator: ";").map { $0.trimmingSpaces() }
        guard fields.first?.lowercased() == "multipart/byteranges" else { return nil }
        for field in fields.dropFirst() {
            let pair = field.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces().lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingSpaces()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
            return (1...70).contains(value.utf8.count) ? String(value) : nil
        }
        return nil
    }

    package init(body: [UInt8], contentType: String) throws(Malformed) {
        guard let boundary = Self.boundary(contentType: contentType) else {
            throw .noBoundary(contentType: String(contentType.prefix(100)))
        }
        let delimiter = Array("--\(boundary)".utf8)
        // The preamble (RFC 2046) ends where the first delimiter starts a line.
        guard var offset = Self.firstDelimiter(delimiter, in: body) else { throw .missingDelimiter(offset: 0) }
        var parts: [Part] = []
        while true {
            offset += delimiter.count
            if body[offset...].starts(with: Array("--".utf8)) { break }  // the close delimiter
            guard let headersEnd = Self.index(of: Self.crlf, in: body, from: offset) else {
                throw .truncatedPart(index: parts.count)
            }
            let (range, contentStart) = try Self.partHead(body, from: headersEnd + 2, index: parts.count)
            guard range.count <= body.count - contentStart - 2 - delimiter.count else {
                throw .truncatedPart(index: parts.count)
            }
            let contentEnd = contentStart + range.count
            parts.append(Part(range: range, bytes: body[contentStart..<contentEnd]))
            // Each part's content is followed by CRLF and the next delimiter, nothing else.
            guard body[contentEnd..<(contentEnd + 2)].elementsEqual(Self.crlf),
                body[(contentEnd + 2)...].starts(with: delimiter)
            else { throw .missingDelimiter(offset: contentEnd) }
            offset = contentEnd + 2
        }
        self.parts = parts
    }

    static let crlf: [UInt8] = [13, 10]

    static func firstDelimiter(_ delimiter: [UInt8], in body: [UInt8]) -> Int? {
        if body.starts(with: delimiter) { return 0 }
        return index(of: crlf + delimiter, in: body, from: 0).map { $0 + 2 }
    }

    /// The part's range (from its `Content-Range`) and where its content starts, reading header lines from
    /// `start` to the empty line.
    static func partHead(_ body: [UInt8], from start: Int, index: Int) throws(Malformed) -> (Range<Int64>, Int) {
        var line = start
        var range: Range<Int64>?
        while true {
            guard let end = Self.index(of: crlf, in: body, from: line) else { throw .truncatedPart(index: index) }
            if end == line { break }
            let text = String(decoding: body[line..<end], as: UTF8.self)
            if let colon = text.firstIndex(of: ":"), text[..<colon].lowercased() == "content-range" {
                range = RegistryClient.parseContentRange(String(text[text.index(after: colon)...].trimmingSpaces()))
            }
            line = end + 2
        }
        guard let range else { throw .partWithoutContentRange(index: index) }
        return (range, line + 2)
    }

    static func index(of needle: [UInt8], in body: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, body.count >= needle.count, start <= body.count - needle.count else { return nil }
        var position = start
        while position <= body.count - needle.count {
            if body[position] == needle[0], body[position..<(position + needle.count)].elementsEqual(needle) {
                return position
            }
            position += 1
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
