"""The content-addressed file store."""

import hashlib

import pytest

from clinic.storage import FileStore, StorageError


def test_put_is_content_addressed_and_stored_once(tmp_path):
    store = FileStore(tmp_path)
    digest = store.put(b"slides")
    assert digest == hashlib.sha256(b"slides").hexdigest()
    assert store.put(b"slides") == digest
    assert store.get(digest) == b"slides"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_damaged_file_is_detected_on_read(tmp_path):
    store = FileStore(tmp_path)
    digest = store.put(b"original")
    store.path_for(digest).write_bytes(b"tampered")
    with pytest.raises(StorageError, match="damaged"):
        store.get(digest)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(StorageError, match="missing"):
        FileStore(tmp_path).get("0" * 64)


def test_unwritable_store_is_a_clear_error(tmp_path):
    blocker = tmp_path / "store"
    blocker.write_text("a file where the folder should be")  # fails even for root
    with pytest.raises(StorageError, match="could not be saved"):
        FileStore(blocker).put(b"data")
    assert blocker.read_text() == "a file where the folder should be"


def test_bad_digest_is_refused(tmp_path):
    with pytest.raises(StorageError):
        FileStore(tmp_path).path_for("../../etc/passwd")
