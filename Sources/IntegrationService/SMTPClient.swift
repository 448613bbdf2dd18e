import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends one message to an SMTP relay (RFC 5321: EHLO, MAIL FROM, RCPT TO, DATA, QUIT) over a
/// blocking socket on a thread of its own, within a deadline. A 4xx reply or a network failure is
/// transient, a 5xx reply permanent. No TLS and no AUTH: the relay is the deployment's own, on a
/// trusted network (a local Postfix, say), which delivers onwards.
struct SMTPClient: Sendable {
    let host: String
    let port: Int
    let timeoutMs: Int

    func send(_ message: EmailMessage) async -> CallFailure? {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.sendBlocking(message)) }
            thread.name = "crm-smtp"
            thread.start()
        }
    }

    private func sendBlocking(_ message: EmailMessage) -> CallFailure? {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        guard let socket = connect() else { return .transient("cannot connect to the SMTP relay \(host):\(port)") }
        defer { close(socket) }
        var session = Session(socket: socket, deadline: deadline)
        do {
            try session.expect(220)
            try session.command("EHLO nexus-crm", expect: 250)
            try session.command("MAIL FROM:<\(message.from)>", expect: 250)
            for recipient in message.to { try session.command("RCPT TO:<\(recipient)>", expect: 250) }
            try session.command("DATA", expect: 354)
            try session.write(message.data + Array(".\r\n".utf8))
            try session.expect(250)
            try? session.command("QUIT", expect: 221)
            return nil
        } catch {
            return error
        }
    }

    private func connect() -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var timeout = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.ai_protocol)
            if fd >= 0 {
                // On Linux the send timeout also bounds connect().
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
                close(fd)
            }
            candidate = address.pointee.ai_next
        }
        return nil
    }

    /// One conversation: replies are read line by line (`NNN-…` continues, `NNN …` ends).
    private struct Session {
        let socket: Int32
        let deadline: Date
        var buffer: [UInt8] = []

        mutating func command(_ line: String, expect code: Int) throws(CallFailure) {
            try write(Array("\(line)\r\n".utf8))
            try expect(code)
        }

        func write(_ bytes: [UInt8]) throws(CallFailure) {
            var sent = 0
            while sent < bytes.count {
                guard Date() < deadline else { throw .transient("the SMTP relay took too long") }
                let count = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { throw .transient("the SMTP relay closed the connection") }
                sent += count
            }
        }

        mutating func expect(_ code: Int) throws(CallFailure) {
            while true {
                let line = try readLine()
                guard line.count >= 3, let reply = Int(line.prefix(3)) else { throw .transient("bad SMTP reply: \(line.prefix(80))") }
                if line.count > 3, line[line.index(line.startIndex, offsetBy: 3)] == "-" { continue }
                if reply == code { return }
                let text = "SMTP \(line.prefix(200))"
                throw reply >= 500 ? .permanent(text) : .transient(text)
            }
        }

        mutating func readLine() throws(CallFailure) -> String {
            while true {
                if let end = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    buffer.removeSubrange(...end)
                    return line
                }
                guard Date() < deadline, buffer.count < 64 * 1024 else { throw .transient("the SMTP relay took too long") }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = recv(socket, &chunk, chunk.count, 0)
                guard count > 0 else { throw .transient("the SMTP relay closed the connection or did not answer in time") }
                buffer += chunk[0..<count]
            }
        }
    }
}
