package config

// ParseByteSize reads a size as the file writes one (ByteSize): 1048576, 512KiB, 1MiB,
// 1MB or 64kB. The CLI's size flags read theirs with it, so both take the same units.
func ParseByteSize(s string) (ByteSize, error) {
	n, err := parseByteSize(s)
	return ByteSize(n), err
}
