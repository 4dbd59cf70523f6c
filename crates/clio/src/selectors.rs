//! The `fields=` matterhook reads each synced model with, as text: the sync stage re-reads records
//! with them, and webhook subscriptions list them, because Clio fires `updated` only when a field
//! the webhook lists has changed. A subscription listing fewer fields than the mirror holds would
//! miss changes to the rest.

/// What a custom field definition is read with.
pub const CUSTOM_FIELD: &str =
    "id,etag,name,parent_type,field_type,picklist_options{id,option,deleted_at}";

/// A matter: status and dates, client, attorneys and staff, practice area, stage, custom values.
pub const MATTER: &str = "id,etag,display_number,description,status,open_date,pending_date,\
close_date,created_at,updated_at,\
client{id,etag,name,first_name,last_name,type,primary_email_address,primary_phone_number},\
responsible_attorney{id,name,email},originating_attorney{id,name,email},\
responsible_staff{id,name,email},practice_area{id,name},matter_stage{id,name},\
custom_field_values{id,field_name,field_type,value},relationships{id,description,contact}";

/// A contact: names, type, company, title, emails, phones, addresses, birth date, client flag,
/// custom values.
pub const CONTACT: &str = "id,etag,type,name,first_name,middle_name,last_name,title,\
date_of_birth,is_client,primary_email_address,primary_phone_number,created_at,updated_at,\
company{id,name},email_addresses{id,name,address,primary},phone_numbers{id,name,number,primary},\
addresses{name,street,city,province,postal_code,country,primary},\
custom_field_values{id,field_name,field_type,value}";

/// A bill: state, totals, when paid, client, matters.
pub const BILL: &str = "id,etag,number,state,total,paid,balance,paid_at,issued_at,due_at,\
created_at,updated_at,client{id,name},matters{id,display_number},currency{code,sign}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fits_a_webhook_and_nests_one_level() {
        for s in [MATTER, CONTACT, BILL] {
            // Clio refuses webhook `fields` over 1,000 characters.
            assert!(s.len() <= 1000, "{} characters", s.len());
            let mut depth = 0;
            for c in s.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                assert!((0..=1).contains(&depth), "{s}");
            }
            assert!(!s.contains(char::is_whitespace));
        }
    }
}
