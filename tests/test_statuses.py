from smsgate.statuses import Status, can_move, legacy_code


def test_status_only_moves_forward():
    assert can_move(Status.QUEUED, Status.SENDING)
    assert can_move(Status.SENT, Status.DELIVERED)
    assert not can_move(Status.DELIVERED, Status.SENT)  # a late "sent" never overwrites delivered
    assert not can_move(Status.SENT, Status.SENT)


def test_terminal_statuses_never_change():
    for terminal in (Status.DELIVERED, Status.FAILED, Status.UNDELIVERED, Status.CANCELLED, Status.EXPIRED):
        assert not can_move(terminal, Status.DELIVERED)
        assert not can_move(terminal, Status.FAILED)


def test_legacy_codes_match_the_program_messages_system():
    assert [legacy_code(s) for s in ("queued", "delivered", "sent", "sending", "failed", "expired")] == [
        0, 1, 2, 3, 4, 5,
    ]
