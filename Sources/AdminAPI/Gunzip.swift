import CZlib
import NIOCore

/// gzip decoding with a size cap that insists on a complete stream.
///
/// zlib directly rather than CompressNIO: a truncated body must be refused whole (CompressNIO returns the
/// inflated prefix), or a client retrying it would count its first lines twice.
enum Gunzip {
    enum Failure: Error {
        /// The output would exceed the cap.
        case tooLarge
        /// Not gzip, corrupt, or cut short.
        case invalid(String)
    }

    /// Inflates `input` (one or more concatenated gzip members) into at most `maxBytes`.
    static func decompress(_ input: ByteBuffer, maxBytes: Int) throws(Failure) -> ByteBuffer {
        var stream = z_stream()
        // 16 + 15: gzip wrapper, 32 KiB window.
        guard inflateInit2_(&stream, 16 + 15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .invalid("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = ByteBuffer()
        var result: Failure?
        input.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else {
                result = .invalid("empty body")
                return
            }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(raw.count)
            let chunk = 256 * 1024
            while true {
                if output.readableBytes >= maxBytes + 1 {
                    result = .tooLarge
                    return
                }
                let room = min(chunk, maxBytes + 1 - output.readableBytes)
                var status: Int32 = Z_OK
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { out in
                    stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(room)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return room - Int(stream.avail_out)
                }
                switch status {
                case Z_STREAM_END:
                    // Another gzip member may follow (concatenated gzip is valid gzip).
                    if stream.avail_in == 0 { return }
                    inflateReset(&stream)
                case Z_OK, Z_BUF_ERROR:
                    if stream.avail_in == 0 && stream.avail_out != 0 {
                        result = .invalid("the gzip stream ends early (truncated body)")
                        return
                    }
                default:
                    result = .invalid("corrupt gzip data (zlib error \(status))")
                    return
                }
            }
        }
        if let result { throw result }
        if output.readableBytes > maxBytes { throw .tooLarge }
        return output
    }
}
