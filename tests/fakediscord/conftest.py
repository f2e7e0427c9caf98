from tests.fakediscord.fixtures import fake_discord, fake_discord_options  # noqa: F401
