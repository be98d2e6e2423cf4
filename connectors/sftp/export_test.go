package sftp

// Transient is transient, for the external tests.
var Transient = transient
