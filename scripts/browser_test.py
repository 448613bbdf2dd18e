#!/usr/bin/env python3
"""Drives the gateway's pages in headless Chromium (Debian's chromium + chromium-driver, Python's selenium).

Usage: browser_test.py BASE_URL API_KEY SCREENSHOT_DIR

Logs in with the key, finds the seeded leads and the pending approval on the dashboard, switches to
the whole tenant's view with the keyboard, opens a lead, applies "contact" and sees
the stage change, adds a custom field on the admin page and sees the create form refuse a value that
breaks its rule. Saves a screenshot after each step. Exits 1 at the first thing that is not as expected.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait


def main():
    base, key, shots = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,900",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    options.binary_location = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
    driver = webdriver.Chrome(service=Service(os.environ.get("CRM_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    wait = WebDriverWait(driver, 15)
    step = [0]

    def shot(name):
        step[0] += 1
        path = os.path.join(shots, "%02d-%s.png" % (step[0], name))
        driver.save_screenshot(path)
        print("screenshot", path, flush=True)

    def expect(condition, message):
        if not condition:
            shot("failure")
            raise AssertionError(message)

    def text_of(selector):
        return driver.find_element(By.CSS_SELECTOR, selector).text

    try:
        # Log in: the key goes into a password field; the form posts and the cookie is set.
        driver.get(base + "/")
        wait.until(EC.presence_of_element_located((By.ID, "key")))
        expect(driver.current_url.endswith("/login"), "a visitor without a session is sent to /login, got " + driver.current_url)
        shot("login")
        field = driver.find_element(By.ID, "key")
        expect(driver.switch_to.active_element == field, "the key field has focus on the login page")
        field.send_keys(key)
        field.send_keys(Keys.ENTER)
        wait.until(EC.presence_of_element_located((By.ID, "pending-heading")))
        expect(not any(cookie.get("name") == "crm_session" and not cookie.get("httpOnly") for cookie in driver.get_cookies()),
               "the session cookie is HttpOnly")
        expect(driver.execute_script("return document.cookie.indexOf('crm_session') === -1"), "scripts cannot read the session cookie")

        # The dashboard lists the seeded leads assigned to the user, and the funnel counts them.
        links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#panel table a")]
        expect(all(("lead L-300%d" % n) in links for n in (1, 2, 3)), "the seeded leads are on the dashboard: %s" % links)
        expect("new" in text_of(".funnel"), "the funnel shows the stage 'new'")
        expect("lead L-3004" not in links, "my records leave out the lead nobody owns: %s" % links)
        approvals = text_of("#approvals")
        expect("lead L-3002" in approvals and "qualify" in approvals, "the pending approval is listed: " + approvals)
        shot("dashboard")

        # The view form by keyboard: the last scope (whole tenant), Tab to the button, Enter.
        scope = driver.find_element(By.ID, "view-scope")
        scope.send_keys(Keys.END)
        expect(Select(scope).first_selected_option.text == "Whole tenant", "End picks the whole tenant")
        scope.send_keys(Keys.TAB)
        expect(driver.switch_to.active_element.get_attribute("id") == "view-stage", "Tab moves to the stage")
        driver.switch_to.active_element.send_keys(Keys.TAB)
        expect(driver.switch_to.active_element.text == "Show", "Tab moves to the Show button")
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        wait.until(EC.url_contains("scope=tenant"))
        links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#pending a")]
        expect(all(("lead L-300%d" % n) in links for n in (1, 2, 3, 4)), "the whole tenant's view lists every open lead: %s" % links)
        expect("Nobody's lead" in text_of("#pending"), "the rows carry the records' names")
        expect(Select(driver.find_element(By.ID, "view-scope")).first_selected_option.text == "Whole tenant", "the form shows the view")
        shot("whole-tenant")
        # The panel refreshes itself (every 2 s in the test) and says when.
        WebDriverWait(driver, 10).until(EC.text_to_be_present_in_element((By.ID, "refreshed"), "Updated"))
        expect(len(driver.find_elements(By.CSS_SELECTOR, "#panel table a")) >= 3, "the refreshed panel still lists the leads")

        # Open a lead and apply an action: the stage changes.
        driver.find_element(By.LINK_TEXT, "lead L-3001").click()
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "lead L-3001"))
        expect(text_of("#stage") == "new", "the lead starts in stage new, shows " + text_of("#stage"))
        shot("record")
        button = driver.find_element(By.XPATH, "//button[normalize-space()='contact → contacted']")
        button.send_keys(Keys.ENTER)
        wait.until(EC.text_to_be_present_in_element((By.ID, "stage"), "contacted"))
        expect("Action applied." in driver.page_source, "the page confirms the action")
        expect(any("new → contacted" in li.text for li in driver.find_elements(By.CSS_SELECTOR, ".timeline li")),
               "the timeline shows the stage change")
        shot("stage-changed")

        # The admin adds a custom field with a rule; it applies to the next create at once.
        driver.get(base + "/admin/fields")
        wait.until(EC.presence_of_element_located((By.ID, "fd-name")))
        Select(driver.find_element(By.ID, "fd-entity")).select_by_visible_text("lead")
        driver.find_element(By.ID, "fd-name").send_keys("employees")
        Select(driver.find_element(By.ID, "fd-type")).select_by_visible_text("number")
        driver.find_element(By.ID, "fd-min").send_keys("0")
        shot("admin-form")
        driver.find_element(By.XPATH, "//button[normalize-space()='Save field']").click()
        wait.until(EC.presence_of_element_located((By.CLASS_NAME, "notice")))
        expect("employees" in text_of("#fields-lead + table, section[aria-labelledby='fields-lead'] table"), "the new field is listed for leads")
        shot("field-added")

        # The create form now has the field, and the service refuses a value that breaks its rule.
        driver.get(base + "/new/lead")
        wait.until(EC.presence_of_element_located((By.ID, "field-employees")))
        driver.find_element(By.ID, "record-id").send_keys("L-3999")
        driver.find_element(By.ID, "field-name").send_keys("Too small a company")
        driver.find_element(By.ID, "field-employees").send_keys("-5")
        driver.find_element(By.XPATH, "//button[normalize-space()='Create lead']").click()
        wait.until(EC.presence_of_element_located((By.ID, "errors")))
        summary = text_of("#errors")
        expect("payload.data.employees" in summary and "at least 0" in summary, "the refusal names the field and its rule: " + summary)
        expect(driver.find_element(By.ID, "field-employees").get_attribute("aria-invalid") == "true", "the field at fault is marked invalid")
        expect(driver.switch_to.active_element.get_attribute("id") == "errors", "focus moves to the error summary")
        shot("create-refused")

        # A value within the rule is taken.
        value = driver.find_element(By.ID, "field-employees")
        value.clear()
        value.send_keys("12")
        driver.find_element(By.XPATH, "//button[normalize-space()='Create lead']").click()
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "lead L-3999"))
        shot("created")
        print("browser test passed: 6 pages, %d screenshots" % step[0])
        return 0
    except (AssertionError, TimeoutException) as error:
        print("browser test FAILED:", error or type(error).__name__, "at", driver.current_url, file=sys.stderr)
        try:
            shot("failure")
            print(driver.page_source[:4000], file=sys.stderr)
        except Exception:  # the browser itself may be gone
            pass
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
