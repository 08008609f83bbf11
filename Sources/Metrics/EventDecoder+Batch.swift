extension EventDecoder {
    /// Splits an ingest body into lines (NDJSON) or elements (a JSON array: first non-whitespace byte `[`)
    /// and decodes each; a bad line is rejected on its own without affecting its neighbours.
    ///
    /// Lines are numbered from 1 counting blank lines, which are skipped (neither accepted nor rejected);
    /// CRLF endings are accepted. In an array body elements are numbered from 1 and error columns count
    /// from the element's first byte, except for errors in the array's own punctuation, which count from
    /// the start of the body; such an error rejects the rest of the body as one error, since element
    /// boundaries are then unknown.
    public func decodeBatch(_ body: UnsafeRawBufferPointer, nowMs: Int64) -> DecodedBatch {
        var batch = DecodedBatch()
        guard let raw = body.baseAddress, body.count > 0 else { return batch }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        var first = 0
        while first < body.count && Self.isWhitespace(base[first]) { first += 1 }
        // ~250-byte events are typical; reserving avoids most regrowth copies of the large Event array.
        batch.events.reserveCapacity(body.count / 256 + 1)
        batch.lines.reserveCapacity(body.count / 256 + 1)
        let strings = identities.batch()
        if first < body.count && base[first] == UInt8(ascii: "[") {
            decodeArray(base, count: body.count, open: first, nowMs: nowMs, strings: strings, into: &batch)
        } else {
            decodeLines(base, count: body.count, nowMs: nowMs, strings: strings, into: &batch)
        }
        identities.finish(strings)
        return batch
    }

    /// Decodes newline-delimited lines.
    private func decodeLines(
        _ base: UnsafePointer<UInt8>, count: Int, nowMs: Int64, strings: IdentityStrings.Batch,
        into batch: inout DecodedBatch
    ) {
        var start = 0
        var lineNumber = 0
        while start < count {
            let newline = Self.firstNewline(base, from: start, count: count)
            lineNumber += 1
            var end = newline
            if end > start && base[end - 1] == 0x0D { end -= 1 }
            var i = start
            while i < end && Self.isWhitespace(base[i]) { i += 1 }
            if i < end {
                decodeOne(base, start..<end, number: lineNumber, nowMs: nowMs, strings: strings, into: &batch)
            }
            start = newline + 1
        }
    }

    /// Decodes the elements of a JSON array body whose `[` is at offset `open`.
    private func decodeArray(
        _ base: UnsafePointer<UInt8>,
        count: Int,
        open: Int,
        nowMs: Int64,
        strings: IdentityStrings.Batch,
        into batch: inout DecodedBatch
    ) {
        var scanner = JSONScanner(base: base, count: count)
        scanner.pos = open + 1
        scanner.skipWhitespace()
        var index = 0
        if scanner.current == UInt8(ascii: "]") {
            scanner.pos += 1
        } else {
            while true {
                index += 1
                scanner.skipWhitespace()
                let start = scanner.pos
                // Offsets in errors count from the element's start, as columns do for lines.
                var element = JSONScanner(base: base + start, count: count - start)
                do {
                    try element.skipValue()
                } catch {
                    batch.reject(line: index, error)
                    return
                }
                scanner.pos = start + element.pos
                if element.pos > configuration.maxLineBytes {
                    batch.reject(
                        line: index,
                        EventDecodingError(reason: "element exceeds \(configuration.maxLineBytes) bytes")
                    )
                } else {
                    decodeOne(base, start..<scanner.pos, number: index, nowMs: nowMs, strings: strings, into: &batch)
                }
                scanner.skipWhitespace()
                if scanner.current == UInt8(ascii: ",") {
                    scanner.pos += 1
                } else if scanner.current == UInt8(ascii: "]") {
                    scanner.pos += 1
                    break
                } else {
                    let error = scanner.unexpected("',' or ']' after array element")
                    batch.reject(line: index + 1, error)
                    return
                }
            }
        }
        scanner.skipWhitespace()
        if scanner.pos < count {
            batch.reject(line: index + 1, .syntax(at: scanner.pos, "unexpected data after the array"))
        }
    }

    /// Decodes one line or element, recording the event or the rejection.
    @inline(__always)
    private func decodeOne(
        _ base: UnsafePointer<UInt8>,
        _ range: Range<Int>,
        number: Int,
        nowMs: Int64,
        strings: IdentityStrings.Batch,
        into batch: inout DecodedBatch
    ) {
        do {
            let event = try decode(
                UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count),
                nowMs: nowMs, identities: strings
            )
            batch.events.append(event)
            batch.lines.append(range)
        } catch {
            batch.reject(line: number, error)
        }
    }

    /// Whether `b` is JSON whitespace.
    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
    }

    /// The offset of the first `\n` at or after `from`, or `count` when there is none.
    @inline(__always)
    static func firstNewline(_ base: UnsafePointer<UInt8>, from: Int, count: Int) -> Int {
        var i = from
        // Eight bytes at a time: splitting lines must cost far less than decoding them.
        let ones: UInt64 = 0x0101_0101_0101_0101
        while i &+ 8 <= count {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) ^ (ones &* 0x0A)
            if (word &- ones) & ~word & (ones &* 0x80) != 0 { break }
            i &+= 8
        }
        while i < count && base[i] != 0x0A { i += 1 }
        return i
    }
}
