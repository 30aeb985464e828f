"""Backend-neutral access to a repository's objects, for the end-to-end tests.

A store is opened on a repository location (what `--repo` takes) and names
objects relative to it ("config", "keys/<id>", "data/ab/<id>"):

- `list(prefix)` -> [ObjectInfo(name, size, stamp)] sorted by name, every
  object whose name starts with `prefix` (no delimiter: the whole subtree);
  `stamp` changes when the object is written again (local: mode, mtime and
  inode; S3 and Azure: ETag and Last-Modified).
- `state()` -> {name: ...}: equal states mean nothing was written, removed or
  touched (the local store also records directories).
- `read(name)`, `write(name, data)`, `delete(name)`, `delete_all()`.

Stores: the local file system; S3 through a minimal AWS Signature V4 client
(path-style requests); Azure Blob Storage through Shared Key signing.  Both
clients speak plain http.client, standard library only, and are meant for
servers on 127.0.0.1 (Ceph RGW, Azurite), not as general-purpose clients.
"""

import base64
import collections
import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import stat
import time
import urllib.parse
import xml.etree.ElementTree as ET

ObjectInfo = collections.namedtuple("ObjectInfo", "name size stamp")


class StoreError(Exception):
    def __init__(self, method, url, status, body):
        super().__init__("%s %s: HTTP %s %s" % (method, url, status, body[:500].decode("utf-8", "replace")))
        self.status = status
        self.body = body


class Store:
    def list(self, prefix=""):
        raise NotImplementedError

    def names(self, prefix=""):
        return [o.name for o in self.list(prefix)]

    def size(self, name):
        for o in self.list(name):
            if o.name == name:
                return o.size
        raise FileNotFoundError(name)

    def state(self):
        return {o.name: (o.size, o.stamp) for o in self.list("")}

    def copy_to(self, other):
        """Copies every object into the store `other`."""
        for o in self.list(""):
            other.write(o.name, self.read(o.name))

    def delete_all(self):
        for o in self.list(""):
            self.delete(o.name)


# --- local ----------------------------------------------------------------------------

def _lstat(path):
    """lstat, or None for an entry that went away since it was listed (a
    running lifeboat renames its temporary files into place)."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


class LocalStore(Store):
    def __init__(self, root):
        self.root = root
        self.location = root

    def _path(self, name):
        return os.path.join(self.root, name)

    def list(self, prefix=""):
        out = []
        # Walk from the deepest directory the prefix names, then filter by prefix.
        base = os.path.join(self.root, os.path.dirname(prefix))
        for d, _, names in os.walk(base):
            for n in names:
                p = os.path.join(d, n)
                rel = os.path.relpath(p, self.root)
                if not rel.startswith(prefix):
                    continue
                st = _lstat(p)
                if st is None:
                    continue
                out.append(ObjectInfo(rel, st.st_size, (stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_ino)))
        return sorted(out)

    def state(self):
        """Every entry (directories too) with type, mode, size, mtime and inode."""
        out = {}
        for d, dirs, names in os.walk(self.root):
            for n in dirs + names:
                p = os.path.join(d, n)
                st = _lstat(p)
                if st is None:
                    continue
                out[os.path.relpath(p, self.root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                      st.st_size, st.st_mtime_ns, st.st_ino)
        return out

    def read(self, name):
        with open(self._path(name), "rb") as f:
            return f.read()

    def write(self, name, data):
        p = self._path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        # Like the local backend: a new file renamed into place.
        tmp = p + ".objstore-tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, p)

    def delete(self, name):
        os.unlink(self._path(name))

    def delete_all(self):
        shutil.rmtree(self.root, ignore_errors=True)


# --- HTTP -----------------------------------------------------------------------------

class _Http:
    """Requests to one endpoint, a connection each (servers on 127.0.0.1:
    connecting costs nothing, and nothing stays open after a test)."""

    def __init__(self, endpoint, timeout=60):
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme not in ("http", "https"):
            raise ValueError("endpoint must be http(s)://HOST[:PORT]: %r" % endpoint)
        self.scheme = u.scheme
        self.netloc = u.netloc
        self.base_path = u.path.rstrip("/")
        self.timeout = timeout

    def request(self, method, path, query="", headers=None, body=b""):
        """Sends one request; returns (status, headers dict with lower-case names, body).
        A dropped connection is retried twice."""
        url = path + ("?" + query if query else "")
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        for attempt in range(3):
            conn = cls(self.netloc, timeout=self.timeout)
            try:
                conn.request(method, url, body=body if body or method in ("PUT", "POST") else None,
                             headers=headers or {})
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))
            finally:
                conn.close()


def _quote(s, safe="/"):
    return urllib.parse.quote(s, safe=safe + "-_.~")


def _xml_children(elem, tag):
    """Children named `tag`, whatever the namespace."""
    return [c for c in elem if c.tag == tag or c.tag.endswith("}" + tag)]


def _xml_text(elem, tag, default=None):
    for c in _xml_children(elem, tag):
        return c.text if c.text is not None else ""
    return default


# --- S3 -------------------------------------------------------------------------------

def parse_s3_location(location, default_endpoint=None):
    """"s3:http://HOST:PORT/BUCKET/PREFIX" (path style) or "s3:BUCKET/PREFIX"
    with `default_endpoint` -> (endpoint, bucket, prefix without slashes)."""
    if not location.startswith("s3:"):
        raise ValueError("not an S3 location: %r" % location)
    rest = location[3:]
    if rest.startswith(("http://", "https://")):
        u = urllib.parse.urlsplit(rest)
        endpoint = "%s://%s" % (u.scheme, u.netloc)
        path = u.path.lstrip("/")
    else:
        if not default_endpoint:
            raise ValueError("%r names no endpoint and S3_ENDPOINT is not set" % location)
        endpoint, path = default_endpoint, rest
    bucket, _, prefix = path.partition("/")
    if not bucket:
        raise ValueError("no bucket in %r" % location)
    return endpoint, bucket, prefix.strip("/")


class S3Client:
    """Signature V4, path-style requests: enough for list/get/put/delete."""

    def __init__(self, endpoint, access_key, secret_key, region="us-east-1"):
        self.http = _Http(endpoint)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def _sign(self, method, path, params, headers, payload_hash):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        headers = dict(headers)
        headers["host"] = self.http.netloc
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        canon_headers = {k.lower(): " ".join(str(v).strip().split()) for k, v in headers.items()}
        signed = ";".join(sorted(canon_headers))
        query = "&".join("%s=%s" % (_quote(k, ""), _quote(v, "")) for k, v in sorted(params.items()))
        canonical = "\n".join([method, path, query,
                               "".join("%s:%s\n" % (k, canon_headers[k]) for k in sorted(canon_headers)),
                               signed, payload_hash])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            self.access_key, scope, signed, sig)
        del headers["host"]  # http.client sends it
        return query, headers

    def request(self, method, bucket, key=None, params=None, body=b"", headers=None, ok=(200,)):
        path = self.http.base_path + "/" + _quote(bucket) + ("/" + _quote(key) if key is not None else "")
        params = params or {}
        query, hdrs = self._sign(method, path, params, headers or {}, hashlib.sha256(body).hexdigest())
        status, rh, data = self.http.request(method, path, query, hdrs, body)
        if status not in ok:
            raise StoreError(method, path + ("?" + query if query else ""), status, data)
        return status, rh, data

    def list_objects(self, bucket, prefix, page_size=1000):
        """(key, size, etag, last_modified) of every object below `prefix`,
        following continuation tokens; nothing when the bucket is missing."""
        out = []
        token = None
        while True:
            params = {"list-type": "2", "prefix": prefix, "max-keys": str(page_size)}
            if token:
                params["continuation-token"] = token
            status, _, data = self.request("GET", bucket, params=params, ok=(200, 404))
            if status == 404:
                if b"NoSuchBucket" in data:
                    return out
                raise StoreError("GET", bucket, status, data)
            root = ET.fromstring(data)
            for c in _xml_children(root, "Contents"):
                out.append((_xml_text(c, "Key"), int(_xml_text(c, "Size")), _xml_text(c, "ETag"),
                            _xml_text(c, "LastModified")))
            if _xml_text(root, "IsTruncated") != "true":
                return out
            token = _xml_text(root, "NextContinuationToken")
            if not token:
                raise StoreError("GET", bucket, status, b"truncated listing without NextContinuationToken")

    def get(self, bucket, key):
        try:
            return self.request("GET", bucket, key)[2]
        except StoreError as e:
            if e.status == 404:
                raise FileNotFoundError(key) from e
            raise

    def put(self, bucket, key, data):
        self.request("PUT", bucket, key, body=data)

    def delete(self, bucket, key):
        self.request("DELETE", bucket, key, ok=(200, 204))

    def delete_many(self, bucket, keys):
        """Multi-object delete, 1000 keys a request."""
        for i in range(0, len(keys), 1000):
            body = ("<Delete><Quiet>true</Quiet>%s</Delete>" % "".join(
                "<Object><Key>%s</Key></Object>" % _xml_escape(k) for k in keys[i:i + 1000])).encode()
            md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
            _, _, data = self.request("POST", bucket, params={"delete": ""}, body=body,
                                      headers={"Content-MD5": md5, "Content-Type": "application/xml"})
            errors = _xml_children(ET.fromstring(data), "Error")
            if errors:
                raise StoreError("POST", bucket + "?delete", 200, data)

    def create_bucket(self, bucket):
        self.request("PUT", bucket, ok=(200, 409))


def _xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class S3Store(Store):
    def __init__(self, location, env=None):
        env = os.environ if env is None else env
        endpoint, self.bucket, prefix = parse_s3_location(location, env.get("S3_ENDPOINT"))
        self.prefix = prefix + "/" if prefix else ""
        self.location = location
        for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if not env.get(v):
                raise RuntimeError("%s is not set: the tests need it to inspect %s" % (v, location))
        self.client = S3Client(endpoint, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                               env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")

    def list(self, prefix=""):
        out = []
        for key, size, etag, modified in self.client.list_objects(self.bucket, self.prefix + prefix):
            out.append(ObjectInfo(key[len(self.prefix):], size, (etag, modified)))
        return sorted(out)

    def read(self, name):
        return self.client.get(self.bucket, self.prefix + name)

    def write(self, name, data):
        self.client.put(self.bucket, self.prefix + name, data)

    def delete(self, name):
        self.client.delete(self.bucket, self.prefix + name)

    def delete_all(self):
        keys = [key for key, _, _, _ in self.client.list_objects(self.bucket, self.prefix)]
        if keys:
            self.client.delete_many(self.bucket, keys)


# --- Azure ----------------------------------------------------------------------------

AZURE_VERSION = "2020-10-02"


def parse_azure_location(location):
    """"azure:CONTAINER/PREFIX" -> (container, prefix without slashes)."""
    if not location.startswith("azure:"):
        raise ValueError("not an Azure location: %r" % location)
    container, _, prefix = location[len("azure:"):].lstrip("/").partition("/")
    if not container:
        raise ValueError("no container in %r" % location)
    return container, prefix.strip("/")


class AzureClient:
    """Shared Key signing against a blob endpoint (path style, as Azurite's
    http://127.0.0.1:10000/ACCOUNT; also https://ACCOUNT.blob.core.windows.net)."""

    def __init__(self, endpoint, account, key):
        self.http = _Http(endpoint)
        self.account = account
        self.key = base64.b64decode(key)

    def _sign(self, method, path, params, headers, length):
        headers = dict(headers)
        headers["x-ms-date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
        headers["x-ms-version"] = AZURE_VERSION
        low = {k.lower(): str(v) for k, v in headers.items()}
        ms = "".join("%s:%s\n" % (k, " ".join(low[k].split())) for k in sorted(low) if k.startswith("x-ms-"))
        resource = "/" + self.account + path
        for k in sorted(params, key=str.lower):
            resource += "\n%s:%s" % (k.lower(), params[k])
        to_sign = "\n".join([method, low.get("content-encoding", ""), low.get("content-language", ""),
                             str(length) if length else "", low.get("content-md5", ""),
                             low.get("content-type", ""), "", low.get("if-modified-since", ""),
                             low.get("if-match", ""), low.get("if-none-match", ""),
                             low.get("if-unmodified-since", ""), low.get("range", ""), ms + resource])
        sig = base64.b64encode(hmac.new(self.key, to_sign.encode(), hashlib.sha256).digest()).decode()
        headers["Authorization"] = "SharedKey %s:%s" % (self.account, sig)
        return headers

    def request(self, method, container, blob=None, params=None, body=b"", headers=None, ok=(200,)):
        path = self.http.base_path + "/" + _quote(container) + ("/" + _quote(blob) if blob is not None else "")
        params = params or {}
        hdrs = self._sign(method, path, params, headers or {}, len(body))
        query = "&".join("%s=%s" % (_quote(k, ""), _quote(v, "")) for k, v in sorted(params.items()))
        status, rh, data = self.http.request(method, path, query, hdrs, body)
        if status not in ok:
            raise StoreError(method, path + ("?" + query if query else ""), status, data)
        return status, rh, data

    def list_blobs(self, container, prefix, page_size=5000):
        """(name, size, etag, last_modified) of every blob below `prefix`,
        following NextMarker; nothing when the container is missing."""
        out = []
        marker = ""
        while True:
            params = {"restype": "container", "comp": "list", "prefix": prefix, "maxresults": str(page_size)}
            if marker:
                params["marker"] = marker
            status, _, data = self.request("GET", container, params=params, ok=(200, 404))
            if status == 404:
                if b"ContainerNotFound" in data:
                    return out
                raise StoreError("GET", container, status, data)
            root = ET.fromstring(data)
            for blobs in _xml_children(root, "Blobs"):
                for b in _xml_children(blobs, "Blob"):
                    props = _xml_children(b, "Properties")[0]
                    out.append((_xml_text(b, "Name"), int(_xml_text(props, "Content-Length")),
                                _xml_text(props, "Etag"), _xml_text(props, "Last-Modified")))
            marker = _xml_text(root, "NextMarker") or ""
            if not marker:
                return out

    def get(self, container, blob):
        try:
            return self.request("GET", container, blob)[2]
        except StoreError as e:
            if e.status == 404:
                raise FileNotFoundError(blob) from e
            raise

    def put(self, container, blob, data):
        self.request("PUT", container, blob, body=data, headers={"x-ms-blob-type": "BlockBlob"}, ok=(201,))

    def delete(self, container, blob):
        self.request("DELETE", container, blob, ok=(202,))

    def create_container(self, container):
        self.request("PUT", container, params={"restype": "container"}, ok=(201, 409))

    def delete_container(self, container):
        self.request("DELETE", container, params={"restype": "container"}, ok=(202, 404))


class AzureStore(Store):
    def __init__(self, location, env=None):
        env = os.environ if env is None else env
        self.container, prefix = parse_azure_location(location)
        self.prefix = prefix + "/" if prefix else ""
        self.location = location
        account = env.get("AZURE_STORAGE_ACCOUNT")
        key = env.get("AZURE_STORAGE_KEY")
        endpoint = env.get("AZURE_STORAGE_BLOB_ENDPOINT") or (
            "https://%s.blob.core.windows.net" % account if account else None)
        if not (account and key and endpoint):
            raise RuntimeError("AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY (and AZURE_STORAGE_BLOB_ENDPOINT for "
                               "an emulator) must be set: the tests need them to inspect %s" % location)
        self.client = AzureClient(endpoint, account, key)

    def list(self, prefix=""):
        out = []
        for name, size, etag, modified in self.client.list_blobs(self.container, self.prefix + prefix):
            out.append(ObjectInfo(name[len(self.prefix):], size, (etag, modified)))
        return sorted(out)

    def read(self, name):
        return self.client.get(self.container, self.prefix + name)

    def write(self, name, data):
        self.client.put(self.container, self.prefix + name, data)

    def delete(self, name):
        self.client.delete(self.container, self.prefix + name)


def open_store(location, env=None):
    """The store for a repository location as `--repo` takes it."""
    if location.startswith("s3:"):
        return S3Store(location, env)
    if location.startswith("azure:"):
        return AzureStore(location, env)
    return LocalStore(location)
