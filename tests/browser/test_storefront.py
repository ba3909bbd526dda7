"""The storefront in a real Chromium, on a real `topup serve`, as a newcomer uses it:
no API calls, no reading of the database, only what the pages show and the clicks and keys
a person would use. Every step is photographed at desktop and phone width."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.support import shoot
from tests.storefront.support import translated

PASSWORD = "correct horse battery"
BUYER_PHONE = "+33 6 12 34 56 78"
RECIPIENT_NATIONAL = "0803 123 4567"
RECIPIENT_SHOWN = "+234 803 123 4567"
SETTLES_WITHIN_MS = 20_000  # the order pipeline runs in the background of the service


async def find_top_ups(page: Page, base: str, country: str, number: str) -> None:
    await page.goto(base)
    await page.get_by_label("Country").select_option(country)
    await page.get_by_label("Mobile number").fill(number)


async def sign_up_from_login(page: Page) -> None:
    """From the login page a purchase led to: create the account, confirm the phone with
    the code from the sandbox inbox, and come back to where the purchase was."""
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("First name").fill("Ada")
    await page.get_by_label("Last name").fill("Obi")
    await page.get_by_label("Your mobile number").fill(BUYER_PHONE)
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await shoot(page, "sign-up")
    await page.get_by_role("button", name="Create my account").click()
    await expect(page.get_by_role("heading", name="Confirm your phone")).to_be_visible()
    await page.get_by_role("link", name="sandbox inbox").click()
    body = page.locator(".message-body").first
    await expect(body).to_contain_text(re.compile(r"\b\d{6}\b"))
    await shoot(page, "sandbox-inbox")
    code = re.search(r"\b(\d{6})\b", await body.inner_text())
    assert code is not None
    await page.go_back()
    await page.get_by_label("The 6-digit code from the SMS").fill(code.group(1))
    await shoot(page, "confirm-phone")
    await page.get_by_role("button", name="Confirm", exact=True).click()


async def choose_first_product(page: Page, base: str) -> None:
    await find_top_ups(page, base, "NG", RECIPIENT_NATIONAL)
    await page.get_by_role("button", name="See the top-ups").click()
    await expect(page.get_by_role("heading", name="Choose a top-up")).to_be_visible()
    await page.get_by_role("button", name="Continue").click()


async def pay_with_new_card(page: Page, number: str, *, save: bool) -> None:
    await page.get_by_label("A new card").check()
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry month (MM)").fill("12")
    await page.get_by_label("Expiry year (YYYY)").fill("2030")
    await page.get_by_label("Security code").fill("123")
    if save:
        await page.get_by_label("Save this card for my next top-ups").check()
    await page.get_by_label(re.compile("I checked the number")).check()
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()


async def test_the_whole_journey_from_sign_up_to_a_repeated_top_up(
    storefront: str, page: Page
) -> None:
    await find_top_ups(page, storefront, "NG", RECIPIENT_NATIONAL)
    # htmx names the operator under the field while the number is typed.
    await expect(page.locator("#number-check")).to_contain_text("MTN Nigeria")
    await shoot(page, "home")
    await page.get_by_role("button", name="See the top-ups").click()
    await expect(page.get_by_text(RECIPIENT_SHOWN)).to_be_visible()
    await shoot(page, "products")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await shoot(page, "log-in")
    await sign_up_from_login(page)

    # Back on the review, logged in: the number is shown large and must be confirmed.
    await expect(page.get_by_role("heading", name="Check and pay")).to_be_visible()
    await expect(page.locator("#recipient-number")).to_have_text(RECIPIENT_SHOWN)
    await shoot(page, "review")
    await pay_with_new_card(page, "4242 4242 4242 4242", save=True)

    await expect(page.get_by_role("heading", name="Done: the credit has arrived")).to_be_visible(
        timeout=SETTLES_WITHIN_MS
    )
    await expect(page.locator("#order-status")).to_contain_text("*310#")  # MTN's balance code
    await shoot(page, "confirmation")

    await page.get_by_role("link", name="My purchases").first.click()
    purchases = page.locator(".purchase")
    await expect(purchases).to_have_count(1)
    await expect(purchases.first).to_contain_text("Delivered")
    await shoot(page, "my-purchases")

    # Again within two minutes: the service asks first, then sends it with the saved card.
    await page.get_by_role("button", name=re.compile("again")).click()
    await page.get_by_label("Yes, send another top-up to this number").check()
    await shoot(page, "repeat-confirm")
    await page.get_by_role("button", name=re.compile("again")).click()
    await expect(page.get_by_role("heading", name="Done: the credit has arrived")).to_be_visible(
        timeout=SETTLES_WITHIN_MS
    )
    await page.get_by_role("link", name="My purchases").first.click()
    await expect(page.locator(".purchase")).to_have_count(2)
    await shoot(page, "my-purchases-after-repeat")


async def test_a_declined_card_shows_its_reason(storefront: str, page: Page) -> None:
    await choose_first_product(page, storefront)
    await sign_up_from_login(page)
    await pay_with_new_card(page, "4000 0000 0000 0002", save=False)

    await expect(page.get_by_role("heading", name="Your card was declined")).to_be_visible(
        timeout=SETTLES_WITHIN_MS
    )
    await expect(page.locator(".reason")).to_have_text("Your bank declined the card.")
    await shoot(page, "declined")


async def test_a_wrong_card_number_is_named_next_to_its_field(storefront: str, page: Page) -> None:
    await choose_first_product(page, storefront)
    await sign_up_from_login(page)
    await pay_with_new_card(page, "4242 4242 4242 4241", save=False)

    error = page.locator("#card_number-error")
    await expect(error).to_have_text("The card number is not valid.")
    card_number = page.get_by_label("Card number")
    await expect(card_number).to_have_attribute("aria-invalid", "true")
    await expect(card_number).to_have_value("")  # never written back into the page
    await shoot(page, "card-number-error")


async def test_a_wrong_number_shows_the_lookup_error_next_to_the_field(
    storefront: str, page: Page
) -> None:
    await find_top_ups(page, storefront, "NG", "12345")
    await expect(page.locator("#number-check")).to_contain_text("not a valid mobile number")
    await page.get_by_role("button", name="See the top-ups").click()

    phone = page.get_by_label("Mobile number")
    await expect(page.locator("#phone-error")).to_have_text(
        "This is not a valid mobile number. Check the digits and the country."
    )
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_have_attribute("aria-describedby", re.compile("phone-error"))
    await expect(phone).to_have_value("12345")  # kept, to be corrected
    await expect(page.get_by_role("alert")).to_be_visible()
    await shoot(page, "wrong-number")


async def test_the_language_switch_changes_the_pages(storefront: str, page: Page) -> None:
    await page.goto(storefront)
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    await page.get_by_role("button", name="Français").click()
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    french = translated("fr", "Send mobile credit abroad")
    await expect(page.get_by_role("heading", level=1)).to_have_text(french)
    await shoot(page, "home-in-french")

    await page.get_by_role("button", name="Italiano").click()
    await expect(page.locator("html")).to_have_attribute("lang", "it")
    await page.get_by_role("link", name=translated("it", "Help")).first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(translated("it", "Help"))
    await shoot(page, "help-in-italian")


async def test_a_number_can_be_looked_up_with_the_keyboard_alone(
    storefront: str, page: Page
) -> None:
    await page.goto(storefront)
    for _ in range(20):  # Tab through the page, as a keyboard user does, to the number
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "phone":
            break
    await page.keyboard.type("+234 803 123 4567")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Choose a top-up")).to_be_visible()

    await page.keyboard.press("Tab")  # from the top of the new page to the skip link
    await page.keyboard.press("Enter")
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent.trim()") == "Continue":
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await shoot(page, "keyboard-only")
