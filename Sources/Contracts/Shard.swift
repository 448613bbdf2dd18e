/// IEEE CRC-32 (the polynomial zlib, PHP and Python use), so every language routes a tenant alike.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = (value & 1) != 0 ? (0xEDB8_8320 ^ (value >> 1)) : (value >> 1) }
        return value
    }

    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// Maps a tenant to its shard: `crc32(tenant) mod shards` (DESIGN §3). The shard count is fixed for
/// the life of a deployment.
public struct ShardRouter: Sendable, Equatable {
    public let shards: Int

    public init(shards: Int) {
        precondition(shards >= 1, "a deployment has at least one shard")
        self.shards = shards
    }

    public func shard(forTenant tenant: String) -> Int {
        Int(CRC32.checksum(tenant.utf8) % UInt32(shards))
    }

    public func keys(forTenant tenant: String) -> ShardKeys { ShardKeys(shard: shard(forTenant: tenant)) }

    public var allShards: [ShardKeys] { (0..<shards).map(ShardKeys.init(shard:)) }
}
