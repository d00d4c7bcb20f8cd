"""Test support code: the loopback OpenRouter emulator, recordings and cassette helpers."""
