"""A stand-in for Vedfolnir's web app: Flask + Flask-Login + Flask-WTF, its own login form and users table.

It signs its `session` cookie the way Vedfolnir does (Flask's default cookie session), so the tests
never hand-roll the format. Its users table is Vedfolnir's shape: `role` is an SQLAlchemy
Enum(UserRole), which stores the member NAMES (a native `userrole` enum on Postgres).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template_string, request, send_file
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect, generate_csrf
from sqlalchemy import Boolean, Column, Enum, Integer, String, create_engine, select, update
from sqlalchemy.orm import DeclarativeBase, Session
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.serving import make_server
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

PAGE_DIR = Path(__file__).resolve().parent / "flask_pages"
ROOT = Path(__file__).resolve().parents[2]


class UserRole(enum.Enum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class Base(DeclarativeBase):
    pass


class HostUser(Base, UserMixin):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    username = Column(String(64), unique=True, nullable=False)
    email = Column(String(120), unique=True, nullable=False)
    password_hash = Column(String(256), nullable=False)
    role = Column(Enum(UserRole), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)  # Vedfolnir's column shadows UserMixin's property


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired()])
    password = PasswordField("password", validators=[DataRequired()])


LOGIN_PAGE = """<!doctype html><title>Vedfolnir login</title>
<form method="post" action="/login">{{ form.csrf_token }}
<input name="username" id="username"><input name="password" id="password" type="password">
<button id="submit" type="submit">Log in</button></form>"""


HOME_PAGE = """<!doctype html><title>Vedfolnir</title><meta name="csrf-token" content="{{ csrf_token() }}">
<p id="user">{{ username }}</p>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button id="logout" type="submit">Log out</button></form>"""

FOREIGN_PAGE = """<!doctype html><title>foreign</title><script src="/static/socket.io.min.js"></script>
<script>
window.outcomes = {};
for (const transports of [["polling"], ["websocket"]]) {
  const s = io({{ realtime_url | tojson }}, { transports, withCredentials: true, reconnection: false, timeout: 5000 });
  s.on("connect", () => { window.outcomes[transports[0]] = { connected: true }; s.close(); });
  s.on("connect_error", (e) => { window.outcomes[transports[0]] = { connect_error: e.message }; s.close(); });
}
</script>"""


class HostApp:
    """The Flask app and what a test does to its users table (as Vedfolnir's admin screens would)."""

    def __init__(
        self,
        database_url: str,
        secret_key: str,
        *,
        fallbacks: list[str] | None = None,
        realtime_url: str = "",
    ) -> None:
        self.engine = create_engine(database_url)
        Base.metadata.create_all(self.engine)
        self.realtime_url = realtime_url
        app = Flask("vedfolnir_host")
        app.config.update(SECRET_KEY=secret_key, SECRET_KEY_FALLBACKS=fallbacks or [], WTF_CSRF_TIME_LIMIT=3600)
        csrf = CSRFProtect(app)
        login = LoginManager(app)
        login.login_view = "login_page"

        @login.user_loader
        def load(user_id: str) -> HostUser | None:
            with Session(self.engine) as db:
                return db.get(HostUser, int(user_id))

        @app.route("/login", methods=["GET", "POST"])
        def login_page() -> Any:
            form = LoginForm()
            if form.validate_on_submit():
                with Session(self.engine) as db:
                    user = db.scalars(select(HostUser).where(HostUser.username == form.username.data)).first()
                    if user is not None and check_password_hash(user.password_hash, form.password.data or ""):
                        login_user(user)  # Flask-Login refuses inactive users itself
                        return redirect(request.args.get("next") or "/")
            return render_template_string(LOGIN_PAGE, form=form)

        @app.route("/logout", methods=["POST"])
        def logout() -> Any:
            logout_user()
            return redirect("/login")

        @app.route("/")
        @login_required
        def home() -> Any:
            return render_template_string(HOME_PAGE, username=current_user.username)

        reference = {path.stem: path.read_text() for path in (PAGE_DIR / "reference").glob("*.js")}
        reference_template = (PAGE_DIR / "reference_page.html").read_text()
        pages = {
            "client": ["client_setup", "captions", "testing"],
            "auth": ["auth", "testing"],
            "admin": ["admin"],
        }

        @app.route("/reference/<name>")
        @login_required
        def reference_page(name: str) -> Any:
            return render_template_string(
                reference_template,
                page=name,
                blocks=pages[name],
                reference=reference,
                realtime_url=self.realtime_url,
                user_id=current_user.id,
                username=current_user.username,
            )

        @app.route("/static/socket.io.min.js")
        def socket_io_client() -> Any:
            return send_file(ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js")

        @app.route("/foreign")
        def foreign() -> Any:
            """A page a test opens from another origin of this host: it tries to connect as any page could."""
            return render_template_string(FOREIGN_PAGE, realtime_url=self.realtime_url)

        @app.route("/admin/users/<int:user_id>", methods=["POST"])
        @csrf.exempt
        def change_user(user_id: int) -> Any:
            """What Vedfolnir's admin screens do to a user (unauthenticated here: a test app)."""
            body = request.get_json(force=True)
            if "is_active" in body:
                self.set_active(user_id, bool(body["is_active"]))
            if "role" in body:
                self.set_role(user_id, UserRole[body["role"]])
            return {"ok": True}

        @app.route("/csrf-token")
        def csrf_token() -> Any:
            return generate_csrf()

        self.app = app

    def add_user(self, username: str, role: UserRole, password: str = "pw", active: bool = True) -> int:
        with Session(self.engine) as db:
            user = HostUser(
                username=username,
                email=f"{username}@example.org",
                password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000"),
                role=role,
                is_active=active,
            )
            db.add(user)
            db.commit()
            return int(user.id)

    def set_active(self, user_id: int, active: bool) -> None:
        with Session(self.engine) as db:
            db.execute(update(HostUser).where(HostUser.id == user_id).values(is_active=active))
            db.commit()

    def set_role(self, user_id: int, role: UserRole) -> None:
        with Session(self.engine) as db:
            db.execute(update(HostUser).where(HostUser.id == user_id).values(role=role))
            db.commit()

    def login_cookie(self, username: str, password: str = "pw") -> str:
        """Logs in through the login form (with its CSRF token) and returns the `session` cookie's value."""
        client = self.app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        answer = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        cookie = client.get_cookie("session")
        assert cookie is not None
        return cookie.value

    def signed_csrf_token(self, cookie: str) -> str:
        """The token a page of this session gets in its <meta name="csrf-token"> (Flask-WTF's generate_csrf)."""
        client = self.app.test_client()
        client.set_cookie("session", cookie)
        return client.get("/csrf-token").get_data(as_text=True)

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Runs the app on a real loopback port (a thread); yields its base URL."""
        server = make_server("127.0.0.1", 0, self.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=5)
            self.engine.dispose()
