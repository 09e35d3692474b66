"""A throw-away PostgreSQL server for the tests and the bench (issue 24).

The server runs from a *staging copy* of the PostgreSQL installation in a temporary
folder, so the extension is installed without touching the system's PostgreSQL
folders: PostgreSQL 15 finds its share and lib folders relative to the `postgres`
binary (there is no extension_control_path before 16), so the binaries `postgres`,
`initdb` and `pg_ctl` are copied, every other file of `pg_config --sharedir` and
`--pkglibdir` is symlinked, and churn.so, churn.control and churn--1.0.sql are added.
`initdb` refuses to run as root: as root the cluster belongs to `nobody` (runuser).
The server listens on a Unix socket in the temporary folder only (no TCP) and is
stopped (and the folder removed) by stop(), also after a failure.
"""
import os
import shutil
import subprocess
import tempfile


class Unavailable(Exception):
    """The PostgreSQL server programs are missing: the tests skip with this text."""


class PgServer:
    def __init__(self, module, sqldir, bindir, pkglibdir, sharedir, settings=None, libchurn=None):
        for prog in ("postgres", "initdb", "pg_ctl"):
            if not os.path.exists(os.path.join(bindir, prog)):
                raise Unavailable(f"{bindir}/{prog} is missing: install postgresql-15 "
                                  "(.ci/quickstart installs it)")
        self.psql_exe = shutil.which("psql") or os.path.join(bindir, "psql")
        self.root = tempfile.mkdtemp(prefix="churn-pg-")
        os.chmod(self.root, 0o755)
        self.as_root = os.geteuid() == 0
        self.settings = settings or {}
        self.env = dict(os.environ)
        self.libchurn = libchurn
        self.started = False
        try:
            self._stage(module, sqldir, bindir, pkglibdir, sharedir)
            self._start()
        except BaseException:
            self.stop()
            raise

    def _stage(self, module, sqldir, bindir, pkglibdir, sharedir):
        # Same relative layout as the system's: <prefix>/lib/postgresql/15/{bin,lib} and
        # <prefix>/share/postgresql/15, found by PostgreSQL relative to its binary.
        prefix = os.path.commonpath([bindir, sharedir, pkglibdir])
        st = lambda p: os.path.join(self.root, "inst", os.path.relpath(p, prefix))
        self.bindir, libdir, share = st(bindir), st(pkglibdir), st(sharedir)
        for d in (self.bindir, libdir, os.path.join(share, "extension")):
            os.makedirs(d)
        for prog in ("postgres", "initdb", "pg_ctl"):
            shutil.copy2(os.path.join(bindir, prog), self.bindir)  # a copy: not a symlink
        for name in os.listdir(pkglibdir):
            os.symlink(os.path.join(pkglibdir, name), os.path.join(libdir, name))
        for name in os.listdir(sharedir):
            if name != "extension":
                os.symlink(os.path.join(sharedir, name), os.path.join(share, name))
        ext = os.path.join(sharedir, "extension")
        for name in os.listdir(ext):
            if not name.startswith("churn.") and not name.startswith("churn--"):
                os.symlink(os.path.join(ext, name), os.path.join(share, "extension", name))
        shutil.copy2(module, os.path.join(libdir, "churn.so"))
        if self.libchurn:
            # churn.so finds the build's libchurn.so.1 through its build rpath
            # ($ORIGIN-relative, lost in the copy): a copy beside it (readable by nobody even
            # when the build folder is not) and LD_LIBRARY_PATH for the server instead
            own = os.path.join(self.root, "libchurn")
            os.makedirs(own)
            shutil.copy2(self.libchurn, os.path.join(own, "libchurn.so.1"))
            old = self.env.get("LD_LIBRARY_PATH")
            self.env["LD_LIBRARY_PATH"] = own + (":" + old if old else "")
        for name in ("churn.control", "churn--1.0.sql"):
            shutil.copy2(os.path.join(sqldir, name), os.path.join(share, "extension", name))
        self.data = os.path.join(self.root, "data")
        self.socket = os.path.join(self.root, "sock")
        os.makedirs(self.socket)
        if self.as_root:
            subprocess.run(["chown", "nobody", self.socket, self.root], check=True)

    def _run_server_cmd(self, args, **kw):
        if self.as_root:
            args = ["runuser", "-u", "nobody", "--"] + args
        return subprocess.run(args, capture_output=True, text=True, env=self.env, **kw)

    def _start(self):
        r = self._run_server_cmd([os.path.join(self.bindir, "initdb"), "-D", self.data, "-A",
                                  "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                                  "--locale=C"])
        if r.returncode != 0:
            raise RuntimeError("initdb failed:\n" + r.stdout + r.stderr)
        opts = [f"-k {self.socket}", "-c listen_addresses=''", "-c fsync=off",
                "-c synchronous_commit=off", "-c full_page_writes=off"]
        opts += [f"-c {k}={v}" for k, v in self.settings.items()]
        r = self._run_server_cmd([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-o",
                                  " ".join(opts), "-l", os.path.join(self.root, "server.log"),
                                  "-w", "-t", "60", "start"])
        self.started = True
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed:\n" + r.stdout + r.stderr + self.log())

    def log(self):
        try:
            with open(os.path.join(self.root, "server.log")) as f:
                return f.read()
        except OSError:
            return ""

    def psql(self, sql=None, db="postgres", file=None, check=True, csv=False, stdin=None,
             on_error_stop=True):
        """Run psql; returns (returncode, stdout, stderr)."""
        args = [self.psql_exe, "-X", "-q", "-h", self.socket, "-U", "postgres", "-d", db,
                "-v", f"ON_ERROR_STOP={1 if on_error_stop else 0}", "-v", "VERBOSITY=verbose"]
        args += ["--csv"] if csv else ["-At"]
        if sql is not None:
            args += ["-c", sql]
        if file is not None:
            args += ["-f", file]
        r = subprocess.run(args, capture_output=True, text=True, input=stdin)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed ({r.returncode}):\n{r.stderr}\n{sql or file}")
        return r.returncode, r.stdout, r.stderr

    def stop(self):
        if self.started:
            self._run_server_cmd([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m",
                                  "immediate", "-w", "stop"])
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)


def from_env(settings=None):
    e = os.environ
    return PgServer(e["CHURN_PG_MODULE"], e["CHURN_PG_SQLDIR"], e["CHURN_PG_BINDIR"],
                    e["CHURN_PG_PKGLIBDIR"], e["CHURN_PG_SHAREDIR"], settings,
                    e["CHURN_LIBRARY"])
