"""What every test suite shares: span builders, polling with a deadline, and the common fixtures.

``tests/conftest.py`` loads the fixture modules as pytest plugins; helpers are imported from here
(``from tests.support.polling import eventually``), never from another suite's ``conftest``.
"""
