#if canImport(Darwin)
    import Darwin
#elseif canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Writes batches as JSON lines to a file descriptor (stdout by default) for a sidecar shipper to forward.
///
/// `opsight ship -` or any log shipper reads the lines; this transport never retries on its own account:
/// a write error other than an interruption is reported as retryable, like a network failure.
public struct StdoutTransport: Transport {
    /// The descriptor written to.
    public let fileDescriptor: Int32

    /// Creates a transport writing to `fileDescriptor` (1, standard output, by default).
    public init(fileDescriptor: Int32 = 1) {
        self.fileDescriptor = fileDescriptor
    }

    /// Writes the whole batch; one batch is written by one caller at a time, so lines never interleave.
    public func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
        var written = 0
        let failure: Int32? = body.withUnsafeBytes { raw -> Int32? in
            while written < raw.count {
                let n = write(fileDescriptor, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        if let failure {
            // A retry rewrites the whole batch, so lines written before the error appear twice: at-least-once.
            return .retry(after: nil, reason: "write to descriptor \(fileDescriptor) failed: errno \(failure)")
        }
        return .delivered(accepted: lineCount, rejected: 0)
    }
}
