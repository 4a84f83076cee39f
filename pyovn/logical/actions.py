"""Logical actions: parsing and checking (ovn-sb(5) "actions").

parse_actions() turns an action string into a list of small action objects and the
prerequisites the actions add to the flow's match (assigning tcp.dst implies tcp).
Encoding to OpenFlow lives in actions_encode.py.
"""

from __future__ import annotations

import ipaddress

from pyovn.logical import lexer as lx
from pyovn.logical.actions_ast import (
    Act,
    CommitEcmpNh,
    CommitLbAff,
    CtCommit,
    CtLb,
    CtNat,
    CtNext,
    DecTTL,
    Exchange,
    FieldRef,
    FwdGroup,
    IntArg,
    Load,
    Log,
    MacBind,
    Move,
    Nested,
    Next,
    Output,
    ParsedActions,
    PortArg,
    PushPop,
    PutOpts,
    Result,
    SampleAct,
    Select,
    Simple,
    TriggerEvent,
)
from pyovn.logical.dhcp import DHCPV4_OPTS, DHCPV6_OPTS, ND_RA_OPTS, OptDef
from pyovn.logical.expr import ExprError, Parser
from pyovn.logical.symbols import SYMTAB, WR_CT_COMMIT, WR_DEFAULT, SymbolTable

_NOT_WRITABLE = {"dl_type", "nw_proto", "nw_frag", "ct_state"}


_NESTED_PREREQS = {"arp": "ip4", "nd_na": "nd_ns", "nd_na_router": "nd_ns", "nd_ns": "ip6",
                   "icmp4": "ip4", "icmp4_error": "ip4", "icmp6": "ip6", "icmp6_error": "ip6",
                   "tcp_reset": "tcp", "sctp_abort": "sctp", "reject": None, "clone": None}
_SIMPLE = {"ct_clear", "ct_commit_nat", "igmp", "handle_dhcpv6_reply", "handle_bfd_msg",
           "activation_strategy_rarp", "ct_snat_to_vip"}
_RESULT0 = {"dns_lookup", "chk_lb_hairpin", "chk_lb_hairpin_reply", "check_in_port_sec",
            "check_out_port_sec", "chk_ecmp_nh_mac", "chk_ecmp_nh", "chk_lb_aff"}
_SEVERITIES = ("alert", "warning", "notice", "info", "debug")
_VERDICTS = ("allow", "drop", "reject")


class ActionParser(Parser):
    def __init__(self, text: str, symtab: SymbolTable, pipeline: str, table: int,
                 n_tables: int) -> None:
        super().__init__(lx.tokenize(text), symtab, text=text)
        self.pipeline = pipeline
        self.table = table
        self.n_tables = n_tables
        self.prereqs: list[str] = []
        self.scope = WR_DEFAULT

    # -- helpers
    def add_prereq(self, p: str | None) -> None:
        if p and p not in self.prereqs:
            self.prereqs.append(p)

    def field_ref(self, writable: bool) -> FieldRef:
        t = self.tok
        if t.type != lx.ID:
            self.error(f"Syntax error at {self.describe(t)} expecting field name.")
        name, lo, hi = self.parse_field()
        sym = self.symtab[name]
        if sym.predicate is not None:
            self.error(f"Predicate symbol {name} used where lvalue required." if writable
                       else f"Predicate symbol {name} cannot be used as a field here.", t.pos)
        text = self.text[t.pos:self.tok.pos].strip()
        for p in self.symtab.all_prereqs(name):
            self.add_prereq(p)
        if sym.ovn_field:
            if lo is not None:
                self.error(f"Cannot select subfield of OVN field {name}.", t.pos)
            return FieldRef(text, name, name, 0, sym.width, ovn_field=True)
        base, ofs = self.symtab.resolve(name)
        assert base.of_field is not None
        if writable:
            rw = sym.rw
            if base.of_field in _NOT_WRITABLE or rw == "none":
                self.error(f"Field {name} is not modifiable.", t.pos)
            if rw == WR_CT_COMMIT and self.scope != WR_CT_COMMIT:
                self.error(f"Field {name} can only be modified inside ct_commit.", t.pos)
        if sym.width == 0:
            return FieldRef(text, name, base.of_field, 0, 32, is_string=True)
        n_bits = sym.width
        if lo is not None and hi is not None:
            ofs += lo
            n_bits = hi - lo + 1
        return FieldRef(text, name, base.of_field, ofs, n_bits)

    def check_width(self, ref: FieldRef, value: int, mask: int | None, pos: int) -> None:
        if value >> ref.n_bits or (mask is not None and mask >> ref.n_bits):
            self.error(f"{max(value.bit_length(), (mask or 0).bit_length())}-bit constant is "
                       f"not compatible with {ref.n_bits}-bit field {ref.name}.", pos)

    def int_arg(self, what: str = "integer") -> int:
        t = self.force(lx.INTEGER, what)
        if t.mask is not None:
            self.error(f"Syntax error expecting {what}, not a masked value.", t.pos)
        return int(t.value)

    def result_dst(self, dst: FieldRef, bits: int = 1) -> None:
        if dst.is_string or dst.n_bits != bits:
            self.error(f"Cannot use {dst.n_bits}-bit field {dst.name} where {bits}-bit field "
                       "is required.", self.tok.pos)

    # -- top level
    def parse_all(self, nested: bool = False) -> list[Act]:
        acts: list[Act] = []
        while True:
            if nested and self.tok.type == lx.RCURLY:
                return acts
            if self.tok.type == lx.END:
                if nested:
                    self.error("Syntax error at end of input expecting `}'.")
                return acts
            if self.match_id("drop"):
                self.force(lx.SEMICOLON, "`;'")
                if not nested and self.tok.type != lx.END:
                    self.error("Syntax error: `drop' must be the last action.")
                continue
            a = self.parse_action()
            if a is not None:
                acts.append(a)
            if self.tok.type == lx.RCURLY and nested:
                continue
            self.force(lx.SEMICOLON, "`;'")

    def parse_nested(self) -> list[Act]:
        self.force(lx.LCURLY, "`{'")
        saved = list(self.prereqs)
        acts = self.parse_all(nested=True)
        self.force(lx.RCURLY, "`}'")
        # Prerequisites of nested actions apply to the generated packet, not the match.
        self.prereqs = saved
        return acts

    def parse_action(self) -> Act | None:
        t = self.tok
        if t.type != lx.ID:
            self.error(f"Syntax error at {self.describe(t)} expecting action.")
        name = str(t.value)
        nxt = self.peek().type
        if nxt in (lx.EQUALS, lx.EXCHANGE, lx.LSQUARE) or (nxt == lx.DECREMENT):
            return self.parse_assignment()
        self.advance()
        if name == "output":
            return Output()
        if name == "next":
            return self.parse_next()
        if name == "ct_next":
            self.add_prereq("ip")
            return CtNext()
        if name == "ct_commit":
            return self.parse_ct_commit()
        if name in ("ct_dnat", "ct_snat", "ct_dnat_in_czone", "ct_snat_in_czone"):
            return self.parse_ct_nat(name)
        if name in ("ct_lb", "ct_lb_mark"):
            return self.parse_ct_lb(name == "ct_lb_mark")
        if name in _SIMPLE:
            if name in ("ct_commit_nat",):
                self.add_prereq("ip")
            if self.match(lx.LPAREN):
                self.force(lx.RPAREN, "`)'")
            return Simple(name)
        if name in _NESTED_PREREQS:
            if name == "tcp_reset" and self.tok.type == lx.SEMICOLON:
                self.add_prereq("tcp")
                return Nested(name, [])
            self.add_prereq(_NESTED_PREREQS[name])
            saved_scope = self.scope
            self.scope = WR_DEFAULT
            acts = self.parse_nested()
            self.scope = saved_scope
            return Nested(name, acts)
        if name in ("get_arp", "put_arp", "get_nd", "put_nd"):
            n = 3 if name.startswith("put") else 2
            args = self.parse_field_args(n)
            self.check_mac_bind_args(name, args)
            return MacBind(name, args)
        if name == "put_fdb":
            args = self.parse_field_args(2)
            self.check_port_mac(args[0], args[1])
            return PortArg(name, None, args)
        if name in ("bind_vport", "handle_svc_check"):
            self.force(lx.LPAREN, "`('")
            vport = None
            if name == "bind_vport":
                vport = str(self.force(lx.STRING, "port name").value)
                self.force(lx.COMMA, "`,'")
            ref = self.field_ref(False)
            self.force(lx.RPAREN, "`)'")
            if not ref.is_string:
                self.error(f"{ref.name} must be a string field (a logical port).")
            return PortArg(name, vport, [ref])
        if name == "log":
            return self.parse_log()
        if name == "trigger_event":
            return self.parse_trigger_event()
        if name == "set_queue":
            self.force(lx.LPAREN, "`('")
            q = self.int_arg("queue id")
            self.force(lx.RPAREN, "`)'")
            if q > 0xF000:
                self.error(f"Queue ID {q} for set_queue is not in valid range 0 to 61440.")
            return IntArg(name, [q])
        if name == "set_meter":
            self.force(lx.LPAREN, "`('")
            vals = [self.int_arg("rate")]
            if self.match(lx.COMMA):
                vals.append(self.int_arg("burst"))
            self.force(lx.RPAREN, "`)'")
            if vals[0] == 0:
                self.error("Rate must be greater than zero.")
            return IntArg(name, vals)
        if name in ("commit_lb_aff",):
            return self.parse_commit_lb_aff()
        if name == "commit_ecmp_nh":
            return self.parse_commit_ecmp_nh()
        if name == "fwd_group":
            return self.parse_fwd_group()
        if name == "sample":
            return self.parse_sample()
        if name in ("push", "pop"):
            self.force(lx.LPAREN, "`('")
            ref = self.field_ref(name == "pop")
            self.force(lx.RPAREN, "`)'")
            return PushPop(name == "push", ref)
        self.error(f"Syntax error at `{name}' expecting action.", t.pos)
        return None

    def parse_next(self) -> Act:
        pipeline = self.pipeline
        table = self.table + 1
        if self.match(lx.LPAREN):
            if self.tok.type == lx.INTEGER:
                table = self.int_arg("table number")
            else:
                while True:
                    key = self.force(lx.ID, "`pipeline' or `table'")
                    self.force(lx.EQUALS, "`='")
                    if key.value == "pipeline":
                        p = self.force(lx.ID, "`ingress' or `egress'")
                        if p.value not in ("ingress", "egress"):
                            self.error("Syntax error expecting `ingress' or `egress'.", p.pos)
                        pipeline = str(p.value)
                    elif key.value == "table":
                        table = self.int_arg("table number")
                    else:
                        self.error(f"Syntax error at `{key.value}' expecting `pipeline' or "
                                   "`table'.", key.pos)
                    if not self.match(lx.COMMA):
                        break
            self.force(lx.RPAREN, "`)'")
        if table >= self.n_tables:
            self.error(f"\"next\" action cannot advance beyond table {self.n_tables - 1}.")
        return Next(pipeline, table)

    def parse_assignment(self) -> Act:
        dst_tok = self.tok
        if self.peek().type == lx.DECREMENT or (
                dst_tok.value == "ip.ttl" and self.peek().type == lx.DECREMENT):
            name = str(self.advance().value)
            self.advance()
            if name != "ip.ttl":
                self.error("Syntax error: `--' is only valid for ip.ttl.", dst_tok.pos)
            self.add_prereq("ip")
            return DecTTL()
        # Peek past the lvalue for the function-call forms "R = func(...)".
        save = self.i
        dst_name = str(dst_tok.value)
        self.parse_field()
        if self.tok.type == lx.EXCHANGE:
            self.seek(save)
            a = self.field_ref(True)
            self.advance()
            b = self.field_ref(True)
            self.check_move(a, b)
            return Exchange(a, b)
        self.force(lx.EQUALS, "`='")
        rhs = self.tok
        if rhs.type == lx.ID and (self.peek().type == lx.LPAREN or rhs.value in (
                "ct_snat_to_vip",)) and rhs.value not in self.symtab:
            self.seek(save)
            return self.parse_result()
        self.seek(save)
        dst = self.field_ref(True)
        self.force(lx.EQUALS)
        if self.tok.type == lx.ID:
            src = self.field_ref(False)
            self.check_move(dst, src)
            return Move(dst, src)
        ct = self.tok
        if ct.type == lx.STRING:
            if not dst.is_string:
                self.error(f"String constant is not compatible with integer field {dst_name}.")
            self.advance()
            return Load(dst, str(ct.value))
        if ct.type != lx.INTEGER:
            self.error(f"Syntax error at {self.describe(ct)} expecting constant.")
        if dst.is_string:
            self.error(f"Integer constant is not compatible with string field {dst_name}.")
        self.advance()
        value = int(ct.value)
        self.check_width(dst, value, ct.mask, ct.pos)
        if dst.ovn_field and ct.mask is not None:
            self.error(f"OVN field {dst_name} cannot be assigned a masked value.", ct.pos)
        return Load(dst, value, ct.mask)

    def check_move(self, a: FieldRef, b: FieldRef) -> None:
        if a.is_string != b.is_string:
            self.error(f"Can't assign {'string' if b.is_string else 'integer'} field "
                       f"({b.name}) to {'string' if a.is_string else 'integer'} field "
                       f"({a.name}).")
        if a.n_bits != b.n_bits:
            self.error(f"Can't assign {b.n_bits}-bit value to {a.n_bits}-bit destination.")
        if a.ovn_field or b.ovn_field:
            self.error("OVN fields cannot be moved or exchanged.")

    def parse_field_args(self, n: int) -> list[FieldRef]:
        self.force(lx.LPAREN, "`('")
        args = []
        for k in range(n):
            if k:
                self.force(lx.COMMA, "`,'")
            args.append(self.field_ref(False))
        self.force(lx.RPAREN, "`)'")
        return args

    def check_port_mac(self, port: FieldRef, mac: FieldRef | None) -> None:
        if not port.is_string:
            self.error(f"{port.name} must be a string field (a logical port).")
        if mac is not None and mac.n_bits != 48:
            self.error(f"{mac.name} must be a 48-bit Ethernet address field.")

    def check_mac_bind_args(self, op: str, args: list[FieldRef]) -> None:
        self.check_port_mac(args[0], args[2] if len(args) > 2 else None)
        want = 32 if op.endswith("arp") or op.endswith("arp_ip") else 128
        if args[1].n_bits != want or args[1].is_string:
            self.error(f"{args[1].name} must be a {want}-bit IP address field.")

    def parse_result(self) -> Act:
        dst = self.field_ref(True)
        self.force(lx.EQUALS)
        ft = self.advance()
        op = str(ft.value)
        if op == "ct_snat_to_vip":
            self.match(lx.LPAREN) and self.force(lx.RPAREN)
            return Simple("ct_snat_to_vip")
        if op in _RESULT0:
            self.force(lx.LPAREN, "`('")
            self.force(lx.RPAREN, "`)'")
            self.result_dst(dst)
            if op == "dns_lookup":
                self.add_prereq("udp")  # DNS requests are UDP (as OVN requires)
            return Result(op, dst)
        if op in ("lookup_arp", "lookup_nd", "lookup_arp_ip", "lookup_nd_ip"):
            args = self.parse_field_args(2 if op.endswith("_ip") else 3)
            self.result_dst(dst)
            self.check_mac_bind_args(op, args)
            return Result(op, dst, args)
        if op == "lookup_fdb":
            args = self.parse_field_args(2)
            self.result_dst(dst)
            self.check_port_mac(args[0], args[1])
            return Result(op, dst, args)
        if op == "get_fdb":
            args = self.parse_field_args(1)
            if not dst.is_string:
                self.error(f"{dst.name} must be a string field (a logical port).")
            if args[0].n_bits != 48:
                self.error(f"{args[0].name} must be a 48-bit Ethernet address field.")
            return Result(op, dst, args)
        if op == "check_pkt_larger":
            self.force(lx.LPAREN, "`('")
            n = self.int_arg("packet length")
            self.force(lx.RPAREN, "`)'")
            self.result_dst(dst)
            if n > 0xFFFF:
                self.error("Packet length for check_pkt_larger must fit in 16 bits.")
            return IntArg(op, [n], dst)
        if op in ("put_dhcp_opts", "put_dhcpv6_opts", "put_nd_ra_opts"):
            self.result_dst(dst)
            if op == "put_nd_ra_opts":
                self.add_prereq("ip6")
            return self.parse_put_opts(op, dst)
        if op == "select":
            return self.parse_select(dst)
        self.error(f"Syntax error at `{op}' expecting action.", ft.pos)
        raise AssertionError

    def parse_put_opts(self, op: str, dst: FieldRef) -> Act:
        table = {"put_dhcp_opts": DHCPV4_OPTS, "put_dhcpv6_opts": DHCPV6_OPTS,
                 "put_nd_ra_opts": ND_RA_OPTS}[op]
        self.force(lx.LPAREN, "`('")
        opts: list[tuple[OptDef, list[lx.Token]]] = []
        while not self.match(lx.RPAREN):
            if opts:
                self.force(lx.COMMA, "`,'")
            nt = self.force(lx.ID, "option name")
            od = table.get(str(nt.value))
            if od is None:
                self.error(f"Syntax error at `{nt.value}' expecting option name.", nt.pos)
                raise AssertionError
            self.force(lx.EQUALS, "`='")
            vals: list[lx.Token] = []
            if self.match(lx.LCURLY):
                while not self.match(lx.RCURLY):
                    if self.tok.type not in (lx.INTEGER, lx.STRING):
                        self.error(f"Syntax error at {self.describe(self.tok)} expecting "
                                   "constant.")
                    vals.append(self.advance())
                    self.match(lx.COMMA)
            else:
                if self.tok.type not in (lx.INTEGER, lx.STRING):
                    self.error(f"Syntax error at {self.describe(self.tok)} expecting constant.")
                vals.append(self.advance())
            od.check(vals, self)
            opts.append((od, vals))
        if op == "put_dhcp_opts" and (not opts or opts[0][0].name != "offerip"):
            self.error("put_dhcp_opts requires offerip to be specified first.")
        return PutOpts(op, dst, opts)

    def parse_select(self, dst: FieldRef) -> Act:
        self.force(lx.LPAREN, "`('")
        members: list[tuple[int, int]] = []
        if self.tok.type == lx.ID and self.tok.value == "values":
            self.advance()
            self.force(lx.EQUALS)
        while not self.match(lx.RPAREN):
            if members:
                self.force(lx.COMMA, "`,'")
            mid = self.int_arg("member id")
            weight = 100
            if self.match(lx.EQUALS):
                weight = self.int_arg("weight")
                if not 1 <= weight <= 0xFFFF:
                    self.error("Weight must be between 1 and 65535.")
            if mid >> dst.n_bits:
                self.error(f"Member id {mid} does not fit in {dst.name}.")
            members.append((mid, weight))
        if not members:
            self.error("select() needs at least one member.")
        if dst.is_string:
            self.error("select() result must be an integer field.")
        return Select(dst, members)

    def parse_ct_commit(self) -> Act:
        self.add_prereq("ip")
        if self.tok.type == lx.LCURLY:
            saved = self.scope
            self.scope = WR_CT_COMMIT
            acts = self.parse_nested()
            self.scope = saved
            for a in acts:
                if not isinstance(a, Load | Move):
                    self.error("Only assignments to ct_mark and ct_label are allowed in "
                               "ct_commit.")
                    raise AssertionError
                if a.dst.of_field not in ("ct_mark", "ct_label"):
                    self.error("Only ct_mark and ct_label can be set inside ct_commit.")
            return CtCommit(acts)
        acts2: list[Act] = []
        if self.match(lx.LPAREN):
            # Old syntax: ct_commit(ct_mark=V[/M], ct_label=V[/M]).
            while not self.match(lx.RPAREN):
                if acts2:
                    self.force(lx.COMMA, "`,'")
                k = self.force(lx.ID, "`ct_mark' or `ct_label'")
                if k.value not in ("ct_mark", "ct_label"):
                    self.error(f"Syntax error at `{k.value}' expecting `ct_mark' or `ct_label'.")
                self.force(lx.EQUALS, "`='")
                v = self.force(lx.INTEGER, "value")
                width = 32 if k.value == "ct_mark" else 128
                ref = FieldRef(str(k.value), str(k.value), str(k.value), 0, width)
                self.check_width(ref, int(v.value), v.mask, v.pos)
                acts2.append(Load(ref, int(v.value), v.mask))
        return CtCommit(acts2)

    def parse_ct_nat(self, name: str) -> Act:
        self.add_prereq("ip")
        a = CtNat(name)
        if self.match(lx.LPAREN):
            t = self.force(lx.INTEGER, "IP address")
            if t.fmt not in (lx.IPV4, lx.IPV6) or t.mask is not None:
                self.error("Syntax error expecting IPv4 or IPv6 address.", t.pos)
            v = int(t.value)
            a.ip = str(ipaddress.IPv4Address(v) if t.fmt == lx.IPV4 else ipaddress.IPv6Address(v))
            if self.match(lx.COMMA):
                a.port_lo = self.int_arg("port")
                a.port_hi = a.port_lo
                if self.match(lx.MINUS):
                    a.port_hi = self.int_arg("port")
                if not (0 < a.port_lo <= a.port_hi <= 0xFFFF):
                    self.error("Invalid port range.")
            self.force(lx.RPAREN, "`)'")
        return a

    def parse_backend(self) -> tuple[str, int]:
        if self.match(lx.LSQUARE):
            t = self.force(lx.INTEGER, "IPv6 address")
            if t.fmt != lx.IPV6:
                self.error("Syntax error expecting IPv6 address.", t.pos)
            self.force(lx.RSQUARE, "`]'")
            ip = str(ipaddress.IPv6Address(int(t.value)))
        else:
            t = self.force(lx.INTEGER, "IP address")
            if t.fmt == lx.IPV4:
                ip = str(ipaddress.IPv4Address(int(t.value)))
            elif t.fmt == lx.IPV6:
                ip = str(ipaddress.IPv6Address(int(t.value)))
            else:
                self.error("Syntax error expecting IP address.", t.pos)
                raise AssertionError
        port = 0
        if self.match(lx.COLON):
            port = self.int_arg("port")
            if not 0 < port <= 0xFFFF:
                self.error("Port must be in range 1 to 65535.")
        return ip, port

    def parse_ct_lb(self, mark: bool) -> Act:
        self.add_prereq("ip")
        a = CtLb(mark)
        if not self.match(lx.LPAREN):
            return a
        if self.tok.type == lx.ID and self.tok.value == "backends":
            self.advance()
            self.force(lx.EQUALS, "`='")
        while self.tok.type in (lx.INTEGER, lx.LSQUARE):
            a.backends.append(self.parse_backend())
            if not self.match(lx.COMMA):
                break
        families = {":" in ip for ip, _ in a.backends}
        if len(families) > 1:
            self.error("ct_lb backends must all be IPv4 or all be IPv6.")
        if len({p == 0 for _, p in a.backends}) > 1:
            self.error("ct_lb backends must all have a port or all have none.")
        while self.match(lx.SEMICOLON):
            if self.match_id("hash_fields"):
                self.force(lx.EQUALS, "`='")
                a.hash_fields = str(self.force(lx.STRING, "hash fields").value)
            elif self.match_id("skip_snat"):
                a.ct_flag = "skip_snat"
            elif self.match_id("force_snat"):
                a.ct_flag = "force_snat"
            else:
                self.error(f"Syntax error at {self.describe(self.tok)} expecting "
                           "`hash_fields', `skip_snat' or `force_snat'.")
        self.force(lx.RPAREN, "`)'")
        return a

    def parse_log(self) -> Act:
        a = Log()
        if self.match(lx.LPAREN):
            while not self.match(lx.RPAREN):
                k = self.force(lx.ID, "log option")
                self.force(lx.EQUALS, "`='")
                if k.value == "name":
                    a.name = str(self.force(lx.STRING, "name").value)
                elif k.value == "severity":
                    v = str(self.force(lx.ID, "severity").value)
                    if v not in _SEVERITIES:
                        self.error(f"Syntax error at `{v}' expecting severity.")
                    a.severity = v
                elif k.value == "verdict":
                    v = str(self.force(lx.ID, "verdict").value)
                    if v == "deny":
                        v = "drop"
                    if v not in _VERDICTS:
                        self.error(f"Syntax error at `{v}' expecting verdict.")
                    a.verdict = v
                elif k.value == "meter":
                    a.meter = str(self.force(lx.STRING, "meter name").value)
                else:
                    self.error(f"Syntax error at `{k.value}' expecting log option.", k.pos)
                self.match(lx.COMMA)
        return a

    def parse_trigger_event(self) -> Act:
        self.force(lx.LPAREN, "`('")
        if not self.match_id("event"):
            self.error("trigger_event needs `event = \"...\"' first.")
        self.force(lx.EQUALS, "`='")
        ev = str(self.force(lx.STRING, "event name").value)
        if ev != "empty_lb_backends":
            self.error(f"Unknown event {ev!r}.")
        opts: list[tuple[str, str]] = []
        while self.match(lx.COMMA):
            k = self.force(lx.ID, "event option")
            if k.value not in ("vip", "protocol", "load_balancer"):
                self.error(f"Unknown option `{k.value}' for event {ev}.", k.pos)
            self.force(lx.EQUALS, "`='")
            opts.append((str(k.value), str(self.force(lx.STRING, "option value").value)))
        self.force(lx.RPAREN, "`)'")
        return TriggerEvent(ev, opts)

    def parse_commit_lb_aff(self) -> Act:
        self.force(lx.LPAREN, "`('")
        addrs: dict[str, tuple[str, int]] = {}
        proto = ""
        timeout = -1
        first = True
        while not self.match(lx.RPAREN):
            if not first:
                self.force(lx.COMMA, "`,'")
            first = False
            k = str(self.force(lx.ID, "option").value)
            self.force(lx.EQUALS, "`='")
            if k in ("vip", "backend"):
                addrs[k] = _split_ip_port(str(self.force(lx.STRING, "ip:port").value), self)
            elif k == "proto":
                proto = str(self.force(lx.ID, "protocol").value)
                if proto not in ("tcp", "udp", "sctp"):
                    self.error(f"Unknown protocol {proto}.")
            elif k == "timeout":
                timeout = self.int_arg("timeout")
            else:
                self.error(f"Syntax error at `{k}' expecting commit_lb_aff option.")
        if "vip" not in addrs or "backend" not in addrs or not proto or timeout < 0:
            self.error("commit_lb_aff needs vip, backend, proto and timeout.")
        vip, vport = addrs["vip"]
        be, bport = addrs["backend"]
        if (":" in vip) != (":" in be):
            self.error("commit_lb_aff vip and backend must be of the same address family.")
        return CommitLbAff(vip, vport, be, bport, proto, timeout)

    def parse_commit_ecmp_nh(self) -> Act:
        self.force(lx.LPAREN, "`('")
        ipv6 = False
        proto = ""
        while not self.match(lx.RPAREN):
            k = str(self.force(lx.ID, "option").value)
            self.force(lx.EQUALS, "`='")
            if k == "ipv6":
                v = str(self.force(lx.ID, "true or false").value)
                ipv6 = v == "true"
            elif k == "proto":
                proto = str(self.force(lx.ID, "protocol").value)
            else:
                self.error(f"Syntax error at `{k}' expecting commit_ecmp_nh option.")
            self.match(lx.COMMA)
        return CommitEcmpNh(ipv6, proto)

    def parse_fwd_group(self) -> Act:
        self.force(lx.LPAREN, "`('")
        liveness = False
        ports: list[str] = []
        if self.match_id("liveness"):
            self.force(lx.EQUALS)
            t = self.advance()
            if t.type not in (lx.ID, lx.STRING) or t.value not in ("true", "false"):
                self.error("Syntax error expecting true or false.", t.pos)
            liveness = t.value == "true"
            self.force(lx.COMMA)
        if not self.match_id("childports"):
            self.error("fwd_group needs childports.")
        self.force(lx.EQUALS)
        while self.tok.type == lx.STRING:
            ports.append(str(self.advance().value))
            if not self.match(lx.COMMA):
                break
        self.force(lx.RPAREN, "`)'")
        if not ports:
            self.error("fwd_group needs at least one child port.")
        return FwdGroup(liveness, ports)

    def parse_sample(self) -> Act:
        self.force(lx.LPAREN, "`('")
        a = SampleAct(0)
        while not self.match(lx.RPAREN):
            k = str(self.force(lx.ID, "option").value)
            self.force(lx.EQUALS)
            v = self.int_arg(k)
            if k == "probability":
                a.probability = v
            elif k == "collector_set":
                a.collector_set = v
            elif k == "obs_domain":
                a.obs_domain = v
            elif k == "obs_point":
                a.obs_point = v
            else:
                self.error(f"Unknown sample option {k}.")
            self.match(lx.COMMA)
        if not 1 <= a.probability <= 0xFFFF:
            self.error("probability must be between 1 and 65535.")
        return a


def _split_ip_port(s: str, p: ActionParser) -> tuple[str, int]:
    try:
        if s.startswith("["):
            ip, _, port = s[1:].partition("]:")
            return str(ipaddress.IPv6Address(ip)), int(port or 0)
        if s.count(":") == 1:
            ip, _, port = s.partition(":")
            return str(ipaddress.IPv4Address(ip)), int(port)
        return str(ipaddress.ip_address(s)), 0
    except ValueError:
        p.error(f"Invalid IP address and port {s!r}.")
        raise AssertionError from None


def parse_actions(text: str, pipeline: str = "ingress", table: int = 0,
                  symtab: SymbolTable = SYMTAB, n_tables: int = 29) -> ParsedActions:
    """Parses and checks an action string; raises ExprError/LexError."""
    p = ActionParser(text, symtab, pipeline, table, n_tables)
    acts = p.parse_all()
    return ParsedActions(acts, p.prereqs)


__all__ = ["ExprError", "ParsedActions", "parse_actions"]
