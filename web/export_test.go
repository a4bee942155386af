package web

// InjectBase exposes injectBase to the tests.
var InjectBase = injectBase
